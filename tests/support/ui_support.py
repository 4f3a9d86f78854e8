"""Helpers of the UI tests: a signed-in UI client, and test data put in through the HTTP API.

(Named test_ui_* to sit with the UI tests; it holds no tests itself.)
"""

from __future__ import annotations

import html
import re
from dataclasses import dataclass
from typing import Any

import httpx

from tests.conftest import wait_built

FIELDS = "/v1/marketing/lists/fields"
MEMBERS = "/v1/marketing/lists/members"
CAMPAIGNS = "/v1/marketing/campaigns"
SEGMENTS = "/v1/marketing/lists/segments"
PREVIEW = "/v1/segments/preview"

MEMBER_COUNT = 60
CSRF_INPUT = re.compile(r'name="csrf_token" value="([^"]+)"')


def ok(answer: httpx.Response) -> Any:
    assert answer.status_code == 200, answer.text
    return answer.json()


@dataclass(frozen=True)
class Seed:
    campaign_id: int
    draft_campaign_id: int


def age(i: int) -> int:
    return 18 + i


def birthday(i: int) -> tuple[int, int]:
    return (i % 12) + 1, (i % 28) + 1


def tags_of(i: int) -> list[str]:
    return ["VIP"] if i % 3 else ["Newsletter"]


def email_of(i: int) -> str:
    return f"member{i:02d}@example.com"


def seed(api: httpx.Client) -> Seed:
    """Four custom fields, MEMBER_COUNT members with values and tags, two campaigns."""
    for body in (
        {"field_name": "Age", "field_type": 1},
        {"field_name": "Birthday", "field_type": 3, "format": "MM/DD"},
        {"field_name": "Joined", "field_type": 2, "format": "DD/MM/YYYY"},
        {"field_name": "City", "field_type": 4, "options": ["Paris", "Lyon"]},
    ):
        ok(api.post(FIELDS, json=body))
    members = []
    for i in range(MEMBER_COUNT):
        month, day = birthday(i)
        members.append(
            {
                "email": email_of(i),
                "name": f"Member {i}",
                "phone": f"+33 1 00 00 {i:02d}",
                "fields": {
                    "Age": str(age(i)),
                    "Birthday": f"{month:02d}/{day:02d}",
                    "Joined": f"{(i % 28) + 1:02d}/01/2024",
                    "City": "Paris" if i % 2 else "Lyon",
                },
                "tags": tags_of(i),
            }
        )
    ok(api.post(MEMBERS, json={"update_existing": True, "members": members}))
    campaign = ok(api.post(CAMPAIGNS, json={"campaign_name": "Spring sale", "status": "sending"}))
    campaign_id = campaign["result"]["campaign_id"]
    events = [{"email": email_of(i), "event": "open" if i % 2 else "sent"} for i in range(40)]
    ok(api.post(f"{CAMPAIGNS}/{campaign_id}/events", json={"events": events}))
    draft = ok(api.post(CAMPAIGNS, json={"campaign_name": "Later", "status": "draft"}))
    return Seed(campaign_id, draft["result"]["campaign_id"])


def expected_three_conditions() -> list[int]:
    """Members with Age >= 25, Birthday <= 10/31 and the tag VIP (the builder tests' segment)."""
    return [
        i
        for i in range(MEMBER_COUNT)
        if age(i) >= 25 and birthday(i)[0] <= 10 and "VIP" in tags_of(i)
    ]


THREE_CONDITIONS = {
    "relation": "and",
    "items": [
        {"field_name": "Age", "op": ">=", "value": "25"},
        {"field_name": "Birthday", "op": "<=", "value": "10/31"},
        {"field_name": "tag", "op": "==", "value": "VIP"},
    ],
}


class Ui:
    """An httpx client signed in to the UI, that sends the CSRF token with every POST."""

    def __init__(self, server: Any, api_user: str, api_key: str) -> None:
        """``server``: a ``conftest.AppServer`` or ``LiveServer``."""
        self.http = server.client(follow_redirects=False)
        self.csrf = csrf_of(self.http.get("/ui/login"))
        answer = self.post("/ui/login", {"api_user": api_user, "api_key": api_key})
        assert answer.status_code == 303, answer.text
        self.csrf = csrf_of(self.get("/ui/segments"))  # signing in issues a new token

    def get(self, path: str, **kwargs: Any) -> httpx.Response:
        return self.http.get(path, **kwargs)

    def post(self, path: str, data: Any = None, **kwargs: Any) -> httpx.Response:
        fields = list(data.items()) if isinstance(data, dict) else list(data or [])
        return self.http.post(path, data=form_data([("csrf_token", self.csrf), *fields]), **kwargs)

    def close(self) -> None:
        self.http.close()


def form_data(pairs: list[tuple[str, str]]) -> dict[str, list[str]]:
    """Repeated names as httpx sends them (it takes no list of pairs)."""
    data: dict[str, list[str]] = {}
    for name, value in pairs:
        data.setdefault(name, []).append(value)
    return data


def csrf_of(page: httpx.Response) -> str:
    match = CSRF_INPUT.search(page.text)
    assert match, page.text
    return match[1]


FLASH = re.compile(r'<div class="flash" role="status">(.*?)</div>', re.S)


def flash_after(ui: httpx.Client, answer: httpx.Response) -> str:
    """The flash message of the page a form's 303 leads to, as plain text."""
    assert answer.status_code == 303, answer.text
    page = ui.get(answer.headers["location"]).text
    match = FLASH.search(page)
    assert match, page
    return html.unescape(re.sub(r"<[^>]+>", " ", match[1])).strip()


def slot_text(page: str, slot: str) -> str:
    """The text of the error slot ``slot`` (unescaped); '' when it is empty or absent."""
    match = re.search(rf'id="{re.escape(slot)}"[^>]*>([^<]*)<', page)
    return html.unescape(match[1]) if match else ""


Tree = dict[str, Any]


def builder_form(
    name: str, conditions: list[dict[str, str]], join: str = "all"
) -> list[tuple[str, str]]:
    """The builder's form fields for one group of rows given as input names without the
    node suffix (``{"subject": "field:Age", "op": ">=", "value": "25"}``)."""
    return tree_form(name, {join: conditions})


def tree_form(name: str, tree: Tree) -> list[tuple[str, str]]:
    """The builder's form fields for a tree: groups ``{"all"|"any": [...]}``, negations
    ``{"not": node}``, and leaves as rows (see ``builder_form``)."""
    join = "all" if "all" in tree else "any"
    form = [("segment_name", name), ("join_r", join)]
    for index, item in enumerate(tree[join]):
        form += node_inputs(item, f"r-{index}")
    return form


def node_inputs(node: Tree, node_id: str, negated: bool = False) -> list[tuple[str, str]]:
    if set(node) == {"not"}:
        return node_inputs(node["not"], node_id, not negated)
    fields = [("not_" + node_id, "1")] if negated else []
    joins = [key for key in ("all", "any") if set(node) == {key}]
    if not joins:
        return [("leaf", node_id), *fields] + [
            (f"{key}_{node_id}", value)
            for key, values in node.items()
            for value in (values if isinstance(values, list) else [values])
        ]
    fields += [("group", node_id), ("join_" + node_id, joins[0])]
    for index, item in enumerate(node[joins[0]]):
        fields += node_inputs(item, f"{node_id}-{index}")
    return fields


# The three conditions as the builder's inputs post them (month and day selects for Birthday).
THREE_CONDITION_ROWS = [
    {"subject": "field:Age", "op": ">=", "value": "25"},
    {"subject": "field:Birthday", "op": "<=", "month": "10", "day": "31"},
    {"subject": "tag", "op": "==", "tag": "VIP"},
]


def make_segment(api: httpx.Client, condition: dict[str, Any] | None = None, **extra: Any) -> str:
    body = {"segment_name": "Three", "type": 0, "condition": condition or THREE_CONDITIONS}
    segment_id: str = ok(api.post(SEGMENTS, json={**body, **extra}))["result"]["segment_id"]
    wait_built(api, segment_id)
    return segment_id


def api_members(api: httpx.Client, segment_id: str) -> list[str]:
    emails: list[str] = []
    while True:
        page = ok(api.post(f"{SEGMENTS}/{segment_id}/members?offset={len(emails)}&limit=100"))
        emails += [m["email"] for m in page["result"]]
        if len(emails) >= page["total"]:
            return emails


def api_message(answer: httpx.Response) -> str:
    """The message of an API error without its ``[path]:`` prefix."""
    assert answer.status_code == 400, answer.text
    message: str = answer.json()["message"]
    _, sep, rest = message.partition("]:")
    return rest if message.startswith("[") and sep else message
