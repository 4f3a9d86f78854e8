"""The web UI over plain HTTP, on SQLite and PostgreSQL: sessions, CSRF, isolation, and every
page's actions checked against the EngageLab API's own view of the same state."""

from __future__ import annotations

import csv
import html
import io
import json
import re
from datetime import UTC
from pathlib import Path
from typing import Any

import httpx
import pytest

from segmentd.domain.condition_types.leaf_types import BY_KIND
from segmentd.domain.conditions import MAX_DEPTH, MAX_ITEMS, MAX_LEAVES
from segmentd.domain.errors import DomainValidationError
from segmentd.domain.fields import SYSTEM_FIELDS, FieldType
from segmentd.domain.native_form import parse_native, render_native
from segmentd.domain.operators import NATIVE_OPERATORS, OPERATORS
from segmentd.storage.catalog import load_catalog
from segmentd.storage.db import Database
from segmentd.storage.segments import create_segment, get_segment
from segmentd.storage.tenants import default_list_id, ensure_credential
from tests.api.ui.conftest import Shared
from tests.conftest import (
    AppServer,
    LiveServer,
    Tenant,
    make_tenant,
    test_settings,
    wait_built,
    wait_until,
)
from tests.support.factories import native_segment
from tests.support.ui_support import (
    FIELDS,
    MEMBER_COUNT,
    MEMBERS,
    PREVIEW,
    SEGMENTS,
    THREE_CONDITION_ROWS,
    THREE_CONDITIONS,
    Seed,
    Tree,
    Ui,
    age,
    api_members,
    api_message,
    birthday,
    builder_form,
    email_of,
    expected_three_conditions,
    form_data,
    make_segment,
    ok,
    seed,
    slot_text,
    tags_of,
    tree_form,
)

SRC = Path(__file__).resolve().parents[3] / "src" / "segmentd"

# A member's email in a members table (a link to the member's page).
EMAIL_CELL = r"<td[^>]*><a [^>]*>(member\d+@example\.com)</a></td>"


def member_cells(page: str) -> list[str]:
    """The emails of the page's members table, in order."""
    table = page.split('<table class="members', 1)[1].split("</table>", 1)[0]
    return re.findall(EMAIL_CELL, table)


# --- sessions and CSRF ----------------------------------------------------------------------


def test_session_cookie_is_httponly_lax_and_scoped_to_ui(anon: httpx.Client) -> None:
    answer = anon.get("/ui/login")
    cookie = answer.headers["set-cookie"].lower()
    assert answer.status_code == 200
    assert "httponly" in cookie and "samesite=lax" in cookie and "path=/ui" in cookie
    assert 'name="csrf_token"' in answer.text


@pytest.mark.parametrize(
    "path",
    ["/ui/segments", "/ui/segments/new", "/ui/members", "/ui/fields", "/ui/sites", "/ui/x/y"],
)
def test_pages_redirect_to_login_without_session(anon: httpx.Client, path: str) -> None:
    answer = anon.get(path, follow_redirects=False)
    if path == "/ui/x/y":  # unknown pages are 404 for everyone
        assert answer.status_code == 404
        return
    assert answer.status_code == 303
    assert answer.headers["location"].startswith("/ui/login?next=")
    htmx = anon.get(path, headers={"HX-Request": "true"}, follow_redirects=False)
    assert htmx.headers["HX-Redirect"].startswith("/ui/login")


def test_wrong_key_answers_the_api_words_and_opens_no_session(
    server: AppServer, tenant: Tenant
) -> None:
    with pytest.raises(AssertionError):
        Ui(server, tenant.api_user, "not-the-key")
    http = server.client(follow_redirects=False)
    token = re.search(r'name="csrf_token" value="([^"]+)"', http.get("/ui/login").text)
    assert token
    form = {"csrf_token": token[1], "api_user": tenant.api_user, "api_key": "nope"}
    answer = http.post("/ui/login", data=form)
    assert answer.status_code == 401 and "authentication failed" in answer.text
    assert http.get("/ui/segments").status_code == 303


@pytest.mark.parametrize(
    "next_url, landing",
    [
        ("/ui/fields", "/ui/fields"),
        ("https://evil.example/", "/ui/segments"),
        ("//evil.example/ui/", "/ui/segments"),
    ],
)
def test_login_returns_only_inside_the_ui(
    server: AppServer, tenant: Tenant, next_url: str, landing: str
) -> None:
    http = server.client(follow_redirects=False)
    token = re.search(r'name="csrf_token" value="([^"]+)"', http.get("/ui/login").text)
    assert token
    form = {
        "csrf_token": token[1],
        "api_user": tenant.api_user,
        "api_key": tenant.api_key,
        "next": next_url,
    }
    assert http.post("/ui/login", data=form).headers["location"] == landing


@pytest.mark.parametrize(
    "path, data",
    [
        ("/ui/segments/new", builder_form("NoCsrf", THREE_CONDITION_ROWS)),
        ("/ui/logout", []),
        ("/ui/fields", [("field_name", "NoCsrf"), ("field_type", "0")]),
        ("/ui/builder/preview", builder_form("NoCsrf", THREE_CONDITION_ROWS)),
    ],
)
@pytest.mark.parametrize("token", [None, "wrong"])
def test_posts_without_the_csrf_token_are_refused(
    shared: Shared, path: str, data: Any, token: str | None
) -> None:
    ui, client = shared.ui, shared.api
    before = ok(client.get(SEGMENTS))["total"]
    sent = data + ([("csrf_token", token)] if token else [])
    answer = ui.http.post(path, data=form_data(sent))
    assert answer.status_code == 403
    assert ok(client.get(SEGMENTS))["total"] == before
    assert ui.get("/ui/segments").status_code == 200  # still signed in
    names = [f["field_name"] for f in ok(client.get("/v1/marketing/lists/fields"))["result"]]
    assert "NoCsrf" not in names


def test_csrf_header_is_accepted_for_htmx(shared: Shared) -> None:
    ui = shared.ui
    answer = ui.http.post(
        "/ui/builder/preview",
        data=form_data(builder_form("x", THREE_CONDITION_ROWS)),
        headers={"X-CSRF-Token": ui.csrf, "HX-Request": "true"},
    )
    assert answer.status_code == 200
    assert f">{len(expected_three_conditions())}<" in answer.text


def test_sign_out_ends_the_session(ui: Ui) -> None:
    assert ui.post("/ui/logout").status_code == 303
    assert ui.get("/ui/segments").status_code == 303


def test_a_new_key_ends_open_sessions(ui: Ui, db: Database, tenant: Tenant) -> None:
    assert ui.get("/ui/segments").status_code == 200
    with db.write() as conn:
        ensure_credential(conn, tenant.api_user, "a-brand-new-key")
    assert ui.get("/ui/segments").status_code == 303


def test_pages_carry_security_headers(shared: Shared) -> None:
    ui = shared.ui
    answer = ui.get("/ui/segments")
    csp = answer.headers["content-security-policy"]
    assert "script-src 'self'" in csp and "frame-ancestors 'none'" in csp
    assert answer.headers["x-frame-options"] == "DENY"
    assert answer.headers["cache-control"] == "no-store"


# --- isolation -------------------------------------------------------------------------------


def test_another_tenants_segment_is_not_found(shared: Shared) -> None:
    server, db, client = shared.server, shared.db, shared.api
    segment_id = make_segment(client)
    other = make_tenant(db, "other")
    intruder = Ui(server, other.api_user, other.api_key)
    for path in ("", "/edit", "/delete", "/export.csv", "/status"):
        assert intruder.get(f"/ui/segments/{segment_id}{path}").status_code == 404
    for path in ("/delete", "/rebuild", "/members/remove", "/edit"):
        answer = intruder.post(f"/ui/segments/{segment_id}{path}", [("member_id", "1")])
        assert answer.status_code == 404, path
    assert "Three" not in intruder.get("/ui/segments").text
    site_id = ok(client.get("/v1/sites"))["result"][0]["site_id"]
    assert intruder.post(f"/ui/sites/{site_id}/token").status_code == 404
    assert intruder.post(f"/ui/sites/{site_id}/rotate").status_code == 404
    after = ok(client.get(f"{SEGMENTS}/{segment_id}"))["result"]
    assert after["member_total"] == len(expected_three_conditions())


# --- the builder -----------------------------------------------------------------------------


def test_builder_saves_what_the_api_would(shared: Shared) -> None:
    ui, client = shared.ui, shared.api
    answer = ui.post("/ui/segments/new", builder_form("Three", THREE_CONDITION_ROWS))
    assert answer.status_code == 303, answer.text
    segment_id = answer.headers["location"].rsplit("/", 1)[1]
    segment = wait_built(client, segment_id)
    assert segment["condition"]["items"] == [
        {**item, "campaign_id": None} for item in THREE_CONDITIONS["items"]
    ]
    expected = [email_of(i) for i in expected_three_conditions()]
    assert segment["member_total"] == len(expected)
    assert sorted(api_members(client, segment_id)) == sorted(expected)


def test_builder_date_picker_saves_the_fields_format(shared: Shared) -> None:
    ui, client = shared.ui, shared.api
    rows = [{"subject": "field:Joined", "op": ">=", "value": "2024-01-20"}]  # the date picker's
    answer = ui.post("/ui/segments/new", builder_form("Joined late", rows))
    segment_id = answer.headers["location"].rsplit("/", 1)[1]
    segment = wait_built(client, segment_id)
    assert segment["condition"]["items"][0]["value"] == "20/01/2024"  # DD/MM/YYYY
    assert segment["member_total"] == sum(1 for i in range(MEMBER_COUNT) if (i % 28) + 1 >= 20)
    edit = ui.get(f"/ui/segments/{segment_id}/edit").text
    assert 'type="date" value="2024-01-20"' in edit


def test_builder_by_campaign(shared: Shared) -> None:
    """A tree of campaign conditions only is a segment by campaign (type 1), as EngageLab's."""
    ui, client, seeded = shared.ui, shared.api, shared.seed
    rows = [{"subject": "campaign", "campaign": str(seeded.campaign_id), "activity": "unopen"}]
    answer = ui.post("/ui/segments/new", builder_form("Unopened", rows))
    segment = wait_built(client, answer.headers["location"].rsplit("/", 1)[1])
    assert segment["type"] == 1
    assert segment["condition"]["items"][0]["campaign_id"] == seeded.campaign_id
    assert segment["member_total"] == 20  # 40 were sent, the odd ones opened
    mixed = [*rows, {"subject": "field:Age", "op": ">=", "value": "30"}]
    answer = ui.post("/ui/segments/new", builder_form("Unopened and 30 or older", mixed))
    assert answer.status_code == 303, re.findall(r"class=\"error\"[^>]*>([^<]+)<", answer.text)
    segment = wait_built(client, answer.headers["location"].rsplit("/", 1)[1])
    assert segment["type"] == 0  # a field beside a campaign: by field, as the flat form can't
    assert segment["member_total"] == sum(1 for i in range(40) if i % 2 == 0 and 18 + i >= 30)


def _invalid_cases(seeded: Seed) -> list[tuple[str, list[dict[str, str]], Any, str]]:
    """(segment name, builder rows, what the API is sent, the error slot beside the faulty
    input): an EngageLab API body for the name (the UI checks names by EngageLab's rules),
    the native tree the rows say for a condition (the UI speaks the native form)."""
    age = {"subject": "field:Age", "op": ">=", "value": "1"}
    native_age = {"kind": "field", "field": "Age", "op": ">=", "value": "1"}
    draft = seeded.draft_campaign_id
    flat_age = {"field_name": "Age", "op": ">=", "value": "1"}
    name_body = {
        "segment_name": "bad.name",
        "type": 0,
        "condition": {"relation": "and", "items": [flat_age]},
    }
    return [
        ("bad.name", [age], name_body, "err-segment_name"),
        ("n", [{**age, "value": "abc"}], [{**native_age, "value": "abc"}], "err-r-0-value"),
        ("n", [{**age, "op": "contain"}], [{**native_age, "op": "contain"}], "err-r-0-op"),
        (
            "n",
            [{"subject": "tag", "op": "==", "tag": "Nobody"}],
            [{"kind": "tag", "tag": "Nobody", "op": "=="}],
            "err-r-0-tag",
        ),
        (
            "n",
            [{"subject": "field:City", "op": "==", "value": "Rome"}],
            [{"kind": "field", "field": "City", "op": "==", "value": "Rome"}],
            "err-r-0-value",
        ),
        (
            "n",
            [{"subject": "field:Gone", "op": "==", "value": "x"}],
            [{"kind": "field", "field": "Gone", "op": "==", "value": "x"}],
            "err-r-0-field",
        ),
        (
            "n",
            [age, {"subject": "field:Birthday", "op": "==", "month": "2", "day": "30"}],
            [native_age, {"kind": "field", "field": "Birthday", "op": "==", "value": "02/30"}],
            "err-r-1-value",
        ),
        (
            "n",
            [{"subject": "campaign", "campaign": str(draft), "activity": "open"}],
            [{"kind": "campaign", "campaign": draft, "activity": "open"}],
            "err-r-0-campaign",
        ),
    ]


def _refusal(shared: Shared, sent: Any) -> str:
    """The words the API answers: EngageLab's for a body, the native form's for leaves."""
    if isinstance(sent, dict):
        return api_message(shared.api.post(SEGMENTS, json=sent))
    with shared.db.read() as conn:
        catalog = load_catalog(conn, shared.tenant.id)
    with pytest.raises(DomainValidationError) as refused:
        parse_native({"all": sent}, catalog, UTC)
    return refused.value.message


@pytest.mark.parametrize("case", range(8))
def test_builder_errors_use_the_api_words_beside_the_input(shared: Shared, case: int) -> None:
    ui, client, seeded = shared.ui, shared.api, shared.seed
    name, rows, sent, slot = _invalid_cases(seeded)[case]
    before = ok(client.get(SEGMENTS))["total"]
    api_words = _refusal(shared, sent)
    page = ui.post("/ui/segments/new", builder_form(name, rows))
    assert page.status_code == 400
    assert slot_text(page.text, slot) == api_words
    preview = ui.post("/ui/builder/preview", builder_form(name, rows))
    assert slot_text(preview.text, slot) == api_words
    assert ok(client.get(SEGMENTS))["total"] == before


def test_preview_counts_like_a_build(shared: Shared) -> None:
    ui, client = shared.ui, shared.api
    preview = ui.post("/ui/builder/preview", builder_form("x", THREE_CONDITION_ROWS))
    shown = re.search(r'id="preview-count">(\d+)<', preview.text)
    assert shown and int(shown[1]) == len(expected_three_conditions())
    native = ok(client.post(PREVIEW, json={"type": 0, "condition": THREE_CONDITIONS}))
    assert native == {"count": len(expected_three_conditions())}
    segment_id = make_segment(client)
    built = ok(client.get(f"{SEGMENTS}/{segment_id}"))["result"]["member_total"]
    assert built == native["count"]


def test_preview_of_an_edit_leaves_out_removed_members(shared: Shared) -> None:
    ui, client = shared.ui, shared.api
    segment_id = make_segment(client)
    first = ok(client.post(f"{SEGMENTS}/{segment_id}/members?limit=1"))["result"][0]["id"]
    ok(client.request("DELETE", f"{SEGMENTS}/{segment_id}/members", json={"member_ids": [first]}))
    form = [*builder_form("x", THREE_CONDITION_ROWS), ("segment_id", segment_id)]
    shown = re.search(r'id="preview-count">(\d+)<', ui.post("/ui/builder/preview", form).text)
    assert shown and int(shown[1]) == len(expected_three_conditions()) - 1


@pytest.mark.parametrize(
    "body, status, code",
    [
        ({"type": 0, "condition": {"relation": "xor", "items": []}}, 400, 30035),
        ({"type": 2, "condition": THREE_CONDITIONS}, 400, 30035),
        ({"type": 0}, 400, 30035),
        ({"type": 0, "condition": THREE_CONDITIONS, "list_id": 999999}, 404, 30035),
    ],
)
def test_native_preview_validates_like_creation(
    shared: Shared, body: Any, status: int, code: int
) -> None:
    client, anon = shared.api, shared.server.client(timeout=30)
    answer = client.post(PREVIEW, json=body)
    assert answer.status_code == status and answer.json()["code"] == code
    assert anon.post(PREVIEW, json=body).json()["code"] == 30000


# Age >= 25, and not any of (tag Newsletter, all of (City Lyon, Birthday by June 30)).
NESTED_ROWS: Tree = {
    "all": [
        {"subject": "field:Age", "op": ">=", "value": "25"},
        {
            "not": {
                "any": [
                    {"subject": "tag", "op": "==", "tag": "Newsletter"},
                    {
                        "all": [
                            {"subject": "field:City", "op": "==", "value": "Lyon"},
                            {"subject": "field:Birthday", "op": "<=", "month": "6", "day": "30"},
                        ]
                    },
                ]
            }
        },
    ]
}
NESTED_NATIVE = {
    "all": [
        {"kind": "field", "field": "Age", "op": ">=", "value": "25"},
        {
            "not": {
                "any": [
                    {"kind": "tag", "tag": "Newsletter", "op": "=="},
                    {
                        "all": [
                            {"kind": "field", "field": "City", "op": "==", "value": "Lyon"},
                            {"kind": "field", "field": "Birthday", "op": "<=", "value": "06/30"},
                        ]
                    },
                ]
            }
        },
    ]
}


def expected_nested() -> list[str]:
    return [
        email_of(i)
        for i in range(MEMBER_COUNT)
        if age(i) >= 25 and not ("Newsletter" in tags_of(i) or (i % 2 == 0 and birthday(i)[0] <= 6))
    ]


def stored_native(shared: Shared, segment_id: str) -> dict[str, Any]:
    with shared.db.read() as conn:
        segment = get_segment(conn, shared.tenant.id, segment_id)
        assert segment is not None
        return render_native(segment.condition, load_catalog(conn, shared.tenant.id))


def test_builder_saves_a_nested_tree_with_a_negated_group(shared: Shared) -> None:
    ui, client = shared.ui, shared.api
    preview = ui.post("/ui/builder/preview", tree_form("x", NESTED_ROWS)).text
    assert re.search(rf'id="preview-count">{len(expected_nested())}<', preview)
    assert 'id="description"' in preview and "None of these holds:" in preview
    answer = ui.post("/ui/segments/new", tree_form("Nested", NESTED_ROWS))
    assert answer.status_code == 303, answer.text
    segment_id = answer.headers["location"].rsplit("/", 1)[1]
    segment = wait_built(client, segment_id)
    assert stored_native(shared, segment_id) == NESTED_NATIVE
    assert segment["member_total"] == len(expected_nested()) and segment["type"] == 0
    assert sorted(api_members(client, segment_id)) == expected_nested()
    flat = segment["condition"]  # what EngageLab's flat form cannot say, it shows as JSON
    assert flat["relation"] == "and" and flat["items"][1]["field_name"] == "$native"
    edit = ui.get(f"/ui/segments/{segment_id}/edit").text
    for marker in ('name="group" value="r-1"', 'name="group" value="r-1-1"'):
        assert marker in edit
    assert re.search(r'id="not_r-1" name="not_r-1" value="1" checked', edit)
    assert re.search(r'id="join_r-1_any" value="any" checked', edit)
    assert not re.search(r'id="not_r-1-1" name="not_r-1-1" value="1" checked', edit)
    page = ui.get(f"/ui/segments/{segment_id}").text
    assert "None of these holds:" in page and "City is “Lyon”" in page


def test_an_error_deep_in_the_tree_shows_beside_its_input(shared: Shared) -> None:
    ui, client = shared.ui, shared.api
    tree = json.loads(json.dumps(NESTED_ROWS))
    tree["all"][1]["not"]["any"][1]["all"][0] = {
        "subject": "field:City",
        "op": "==",
        "value": "Rome",
    }
    native = json.loads(json.dumps(NESTED_NATIVE))
    native["all"][1]["not"]["any"][1]["all"][0]["value"] = "Rome"
    with shared.db.read() as conn:
        catalog = load_catalog(conn, shared.tenant.id)
    with pytest.raises(DomainValidationError) as refused:
        parse_native(native, catalog, UTC)
    assert refused.value.path == "condition.all[1].not.any[1].all[0].value"
    before = ok(client.get(SEGMENTS))["total"]
    page = ui.post("/ui/segments/new", tree_form("Deep", tree))
    assert page.status_code == 400
    assert slot_text(page.text, "err-r-1-1-0-value") == refused.value.message
    preview = ui.post("/ui/builder/preview", tree_form("Deep", tree)).text
    assert slot_text(preview, "err-r-1-1-0-value") == refused.value.message
    assert ok(client.get(SEGMENTS))["total"] == before


def _chain(depth: int, leaf: Tree, negated_last: bool = False) -> Tree:
    """Groups nested ``depth`` deep (the root counting), each holding ``leaf`` and the next."""
    node: Tree = {"all": [leaf]}
    if negated_last:
        node = {"not": node}
    for _ in range(depth - 1):
        node = {"all": [leaf, node]}
    return node


AGE_ROW = {"subject": "field:Age", "op": ">=", "value": "1"}
AGE_LEAF = {"kind": "field", "field": "Age", "op": ">=", "value": "1"}


def test_groups_nest_up_to_the_depth_limit(shared: Shared) -> None:
    ui = shared.ui
    deepest = "r" + "-1" * (MAX_DEPTH - 1)
    fragment = ui.post("/ui/builder/conditions", tree_form("x", _chain(MAX_DEPTH, AGE_ROW))).text
    assert f'value="add-leaf:{deepest}"' in fragment
    assert f'value="add-group:{deepest}"' not in fragment
    assert f'value="add-group:{deepest[:-2]}"' in fragment
    ignored = [*tree_form("x", _chain(MAX_DEPTH, AGE_ROW)), ("action", f"add-group:{deepest}")]
    after = ui.post("/ui/builder/conditions", ignored).text
    assert after.count('name="group"') == MAX_DEPTH - 1  # no room: the button does nothing
    with shared.db.read() as conn:
        catalog = load_catalog(conn, shared.tenant.id)
    with pytest.raises(DomainValidationError) as refused:
        parse_native(_chain(MAX_DEPTH, AGE_LEAF, negated_last=True), catalog, UTC)
    too_deep = tree_form("x", _chain(MAX_DEPTH, AGE_ROW, negated_last=True))
    preview = ui.post("/ui/builder/preview", too_deep).text
    assert slot_text(preview, f"err-{deepest}") == refused.value.message
    assert 'id="preview-count"' not in preview


def test_a_tree_holds_at_most_the_leaf_limit(shared: Shared) -> None:
    ui = shared.ui
    rows = [{"subject": "field:Age", "op": ">=", "value": "1"}] * MAX_ITEMS
    groups = {"all": [{"all": rows} for _ in range(MAX_LEAVES // MAX_ITEMS)]}
    groups["all"].append({"all": rows[: MAX_LEAVES % MAX_ITEMS]})
    fragment = ui.post("/ui/builder/conditions", tree_form("x", groups)).text
    assert fragment.count('name="leaf"') == MAX_LEAVES
    assert "add-leaf:" not in fragment and "add-group:" not in fragment
    one_more = [*tree_form("x", groups), ("action", "add-leaf:r")]
    assert ui.post("/ui/builder/conditions", one_more).text.count('name="leaf"') == MAX_LEAVES


def test_the_picker_offers_only_registered_kinds(shared: Shared) -> None:
    page = shared.ui.get("/ui/segments/new").text
    picker = re.search(r'<select id="subject_r-0".*?</select>', page, re.S)
    assert picker
    offered = {value.partition(":")[0] for value in re.findall(r'value="([^"]+)"', picker[0])}
    assert offered == set(BY_KIND)


def test_builder_edits_a_segment(shared: Shared) -> None:
    ui, client = shared.ui, shared.api
    segment_id = make_segment(client)
    edit = ui.get(f"/ui/segments/{segment_id}/edit")
    assert 'value="Three"' in edit.text and 'name="month_r-1"' in edit.text
    rows = [{"subject": "field:Age", "op": "<", "value": "20"}]
    answer = ui.post(f"/ui/segments/{segment_id}/edit", builder_form("Young", rows))
    assert answer.status_code == 303
    segment = wait_built(client, segment_id)
    assert segment["segment_name"] == "Young" and segment["member_total"] == 2


@pytest.mark.parametrize(
    "action, leaves_after, groups_after",
    [("add-leaf:r", 4, 0), ("add-group:r", 4, 1), ("remove:r-1", 2, 0), ("remove:r", 3, 0)],
)
def test_conditions_and_groups_are_added_and_removed(
    shared: Shared, action: str, leaves_after: int, groups_after: int
) -> None:
    ui = shared.ui
    form = [*builder_form("x", THREE_CONDITION_ROWS), ("action", action)]
    fragment = ui.post("/ui/builder/conditions", form, headers={"HX-Request": "true"})
    assert fragment.text.count('name="leaf"') == leaves_after
    assert fragment.text.count('name="group"') == groups_after
    page = ui.post("/ui/segments/new", form)  # without JavaScript: the whole page, unsaved
    assert page.status_code == 200 and page.text.count('name="leaf"') == leaves_after
    assert page.text.count('name="group"') == groups_after


@pytest.mark.parametrize(
    "field, ops, input_marker",
    [
        ("Age", [">=", "<="], 'type="number"'),
        ("Joined", [">", "<"], 'type="date"'),
        ("CreateTime", [">", "!="], 'type="date"'),
        ("Birthday", ["==", ">"], 'name="month_r-0"'),
        ("City", ["==", "!="], '<option value="Lyon"'),
        ("Name", ["contain", "does not contain"], 'autocomplete="off"'),
    ],
)
def test_field_picker_offers_only_the_fields_operators(
    shared: Shared, field: str, ops: list[str], input_marker: str
) -> None:
    """The flat operators of the field's type are offered, and only operators the native
    form's parser takes for that field (those that come later included)."""
    ui = shared.ui

    row = ui.get("/ui/builder/row", params={"node": "r-0", "subject_r-0": f"field:{field}"}).text
    options = re.findall(r'<option value="([^"]+)" data-shape=', row)
    offered = {html.unescape(option) for option in options}
    for op in ops:
        assert op in offered
    types = {f.name: f.type for f in SYSTEM_FIELDS} | {
        "Age": FieldType.NUMBER,
        "Joined": FieldType.DATE,
        "Birthday": FieldType.BIRTHDAY,
        "City": FieldType.DROPDOWN,
    }
    flat = {str(op) for op in OPERATORS[types[field]]}
    assert flat <= offered
    assert offered <= flat | NATIVE_ONLY_OPS
    assert input_marker in row
    if field in ("Age", "Joined"):
        assert "contain" not in offered


NATIVE_ONLY_OPS = {
    "starts_with", "ends_with", "in", "not_in", "between", "is_set", "is_not_set", "in_last",
    "more_than_ago", "in_next", "is_today", "anniversary_in_next", "anniversary_today",
    "anniversary_this_month",
}  # fmt: skip


def test_picking_a_kind_redraws_the_condition(shared: Shared) -> None:
    ui = shared.ui
    tag = ui.get("/ui/builder/row", params={"node": "r-2-0", "subject_r-2-0": "tag"}).text
    assert 'id="leaf-r-2-0"' in tag and '<option value="VIP"' in tag
    assert 'name="op_r-2-0"' in tag and 'name="value_r-2-0"' not in tag
    bad = ui.get("/ui/builder/row", params={"node": "x-1", "subject_x-1": "tag"})
    assert bad.status_code == 404


# --- the segment page ----------------------------------------------------------------------------


def test_members_table_pages_and_filters_like_the_api(shared: Shared) -> None:
    ui, client = shared.ui, shared.api
    segment_id = make_segment(client)
    expected = [email_of(i) for i in expected_three_conditions()]
    first = ui.get(f"/ui/segments/{segment_id}").text
    second = ui.get(f"/ui/segments/{segment_id}?offset=20").text
    shown = member_cells(first) + member_cells(second)
    assert shown == expected  # by member id, as the API pages
    params = {"filter": "1", "subject_f": "field:City", "op_f": "==", "value_f": "Paris"}
    filtered = ui.get(f"/ui/segments/{segment_id}", params=params).text
    condition = {"relation": "and", "items": [{"field_name": "City", "op": "==", "value": "Paris"}]}
    api = ok(
        client.post(f"{SEGMENTS}/{segment_id}/members?limit=20", json={"condition": condition})
    )
    assert member_cells(filtered) == [m["email"] for m in api["result"]]
    bad = ui.get(f"/ui/segments/{segment_id}", params={**params, "value_f": "Rome"}).text
    bad_condition = {"relation": "and", "items": [{**condition["items"][0], "value": "Rome"}]}
    words = api_message(
        client.post(f"{SEGMENTS}/{segment_id}/members", json={"condition": bad_condition})
    )
    assert slot_text(bad, "err-f-value") == words


def test_remove_selected_members(shared: Shared) -> None:
    ui, client = shared.ui, shared.api
    segment_id = make_segment(client)
    page = ok(client.post(f"{SEGMENTS}/{segment_id}/members?limit=2"))["result"]
    ids = [m["id"] for m in page]
    form = [("member_id", member_id) for member_id in ids]
    answer = ui.post(f"/ui/segments/{segment_id}/members/remove", form)
    assert answer.status_code == 303
    assert "2 members removed" in ui.get(answer.headers["location"]).text
    total = len(expected_three_conditions()) - 2
    assert ok(client.get(f"{SEGMENTS}/{segment_id}"))["result"]["member_total"] == total
    ui.post(f"/ui/segments/{segment_id}/rebuild")
    wait_until(lambda: wait_built(client, segment_id)["member_total"] == total)
    assert not {m["email"] for m in page} & set(api_members(client, segment_id))


def test_export_csv_streams_the_published_members(shared: Shared) -> None:
    ui, client = shared.ui, shared.api
    ok(client.post("/v1/marketing/lists/members", json={
        "update_existing": True,
        "members": [{"email": email_of(7), "name": "=HYPERLINK(1)"}],
    }))  # fmt: skip
    segment_id = make_segment(client)
    answer = ui.get(f"/ui/segments/{segment_id}/export.csv")
    assert answer.headers["content-type"].startswith("text/csv")
    assert "attachment" in answer.headers["content-disposition"]
    rows = list(csv.reader(io.StringIO(answer.text.lstrip("\ufeff"))))
    assert rows[0] == ["email", "name", "phone", "Age", "Birthday", "Joined", "City", "tags"]
    by_email = {row[0]: row for row in rows[1:]}
    assert sorted(by_email) == sorted(email_of(i) for i in expected_three_conditions())
    assert by_email[email_of(7)] == [
        email_of(7), "'=HYPERLINK(1)", "+33 1 00 00 07", "25", "08/08", "08/01/2024", "Paris", "VIP"
    ]  # fmt: skip


def test_rebuild_and_delete(shared: Shared) -> None:
    ui, client = shared.ui, shared.api
    segment_id = make_segment(client)
    assert ui.post(f"/ui/segments/{segment_id}/rebuild").status_code == 303
    wait_built(client, segment_id)
    confirm = ui.get(f"/ui/segments/{segment_id}/delete")
    assert confirm.status_code == 200 and "Three" in confirm.text
    assert ok(client.get(f"{SEGMENTS}/{segment_id}"))["result"]["segment_name"] == "Three"
    assert ui.post(f"/ui/segments/{segment_id}/delete").headers["location"] == "/ui/segments"
    assert client.get(f"{SEGMENTS}/{segment_id}").json()["code"] == 30036


def test_a_segment_another_refers_to_is_not_deleted(shared: Shared) -> None:
    ui, client = shared.ui, shared.api
    segment_id = make_segment(client)
    raw = {"kind": "segment", "segment": segment_id, "op": "in"}
    fans = native_segment(shared.db, shared.tenant.id, None, "Fans", raw)
    refused = ui.post(f"/ui/segments/{segment_id}/delete")
    assert refused.headers["location"] == f"/ui/segments/{segment_id}"
    page = ui.get(refused.headers["location"]).text
    assert "The segment cannot be deleted: segment Three is used by segments: Fans" in page
    assert ui.post(f"/ui/segments/{fans}/delete").headers["location"] == "/ui/segments"
    assert ui.post(f"/ui/segments/{segment_id}/delete").headers["location"] == "/ui/segments"


def test_segment_page_describes_conditions_in_plain_words(shared: Shared) -> None:
    ui, client = shared.ui, shared.api
    segment_id = make_segment(client)
    page = ui.get(f"/ui/segments/{segment_id}").text
    for words in ("Age is at least “25”", "Birthday is on or before “10/31”", "has the tag “VIP”"):
        assert words in page
    status = ui.get(f"/ui/segments/{segment_id}/status", headers={"HX-Request": "true"})
    assert status.headers.get("HX-Refresh") == "true"  # complete: the poller reloads the page


def test_a_segment_without_a_condition_reads_as_given(shared: Shared) -> None:
    """A static segment stores an empty group: its page says so and offers no builder."""
    with shared.db.write() as conn:
        segment_id = create_segment(
            conn,
            shared.tenant.id,
            list_id=default_list_id(conn, shared.tenant.id),
            name="Given",
            segment_type=0,
            condition={"version": 1, "relation": "and", "items": []},
        )
    page = shared.ui.get(f"/ui/segments/{segment_id}").text
    assert "the members of this segment are given" in page
    assert f'href="/ui/segments/{segment_id}/edit"' not in page
    edit = shared.ui.post(f"/ui/segments/{segment_id}/edit", builder_form("Given", []))
    assert edit.status_code == 400 and slot_text(edit.text, "err-r")  # nothing to save


def test_segments_list_searches_and_filters_by_type(shared: Shared) -> None:
    ui, client, seeded = shared.ui, shared.api, shared.seed
    make_segment(client)
    campaign = {
        "relation": "and",
        "items": [
            {
                "field_name": "campaign",
                "op": "==",
                "value": "open",
                "campaign_id": seeded.campaign_id,
            }
        ],
    }
    make_segment(client, campaign, segment_name="Openers", type=1)
    listing = ui.get("/ui/segments").text
    assert "Three" in listing and "Openers" in listing and "by campaign" in listing
    assert "Openers" not in ui.get("/ui/segments", params={"q": "thr"}).text
    by_campaign = ui.get("/ui/segments", params={"type": "1"}).text
    assert "Openers" in by_campaign and "Three" not in by_campaign


def test_segments_of_one_name_are_told_apart(ui: Ui, client: httpx.Client) -> None:
    seed(client)
    first, second = (
        make_segment(client, segment_name="Twin"),
        make_segment(client, segment_name="Twin"),
    )
    listing = ui.get("/ui/segments", params={"q": "Twin"}).text
    for segment_id in (first, second):
        assert f'title="segment_id {segment_id}">…{segment_id[-6:]}</code>' in listing
    picker = ui.get("/ui/builder/row", params={"node": "r-0", "subject_r-0": "segment"}).text
    labels = re.findall(r'<option value="[0-9a-f]{24}"[^>]*>([^<]+)</option>', picker)
    assert (
        len(labels) == 2
        and len(set(labels)) == 2
        and all(label.startswith("Twin (list ") for label in labels)
    )


# --- members, fields, sites, language ---------------------------------------------------------


def test_members_show_their_subscription(ui: Ui, client: httpx.Client) -> None:
    seed(client)
    ok(client.post(f"{MEMBERS}/unsubscribe", json={"emails": [email_of(7)]}))
    segment_id = make_segment(client)
    for path in (f"/ui/segments/{segment_id}", "/ui/members"):
        page = ui.get(path).text
        rows = re.findall(r'<tr class="unsubscribed">.*?</tr>', page, re.S)
        assert len(rows) == 1 and email_of(7) in rows[0] and "unsubscribed" in rows[0]
        assert page.count('<span class="subscribed">subscribed</span>') == 19


def test_the_member_filter_takes_any_kind(shared: Shared) -> None:
    ui, seeded = shared.ui, shared.seed
    params = {
        "filter": "1",
        "subject_f": "campaign",
        "campaign_f": str(seeded.campaign_id),
        "activity_f": "open",
    }
    shown = member_cells(ui.get("/ui/members", params=params).text)
    assert shown == [email_of(i) for i in range(1, 40, 2)]
    engaged = {
        "filter": "1",
        "subject_f": "engagement",
        "activity_f": "open",
        "count_op_f": ">=",
        "count_f": "1",
        "amount_f": "30",
        "unit_f": "days",
    }
    shown = member_cells(ui.get("/ui/members", params=engaged).text)
    assert shown == [email_of(i) for i in range(1, 40, 2)]


def test_members_page_pages_and_filters(shared: Shared) -> None:
    ui = shared.ui
    emails = member_cells(ui.get("/ui/members").text)
    assert emails == [email_of(i) for i in range(20)]
    params = {"filter": "1", "subject_f": "tag", "op_f": "==", "tag_f": "Newsletter"}
    shown = member_cells(ui.get("/ui/members", params=params).text)
    assert shown == [email_of(i) for i in range(0, 60, 3)][:20]


def test_fields_page_lists_and_creates_fields(ui: Ui, client: httpx.Client) -> None:
    seed(client)
    page = ui.get("/ui/fields").text
    assert "Birthday" in page and "MM/DD" in page and "Spring sale" in page
    rows = {
        html.unescape(name): {html.unescape(op) for op in re.findall(r"<code>([^<]+)</code>", ops)}
        for name, ops in re.findall(
            r'<th scope="row">([A-Za-z]+).*?</th>.*?<ul class="ops">(.*?)</ul>', page, re.S
        )
    }
    for name, field_type in (
        ("Birthday", FieldType.BIRTHDAY),
        ("Name", FieldType.TEXT),
        ("CreateTime", FieldType.TIMESTAMP),
    ):
        every = {str(op) for op in (*OPERATORS[field_type], *NATIVE_OPERATORS[field_type])}
        assert rows[name] == every, name
    assert "does not contain (does not contain)" not in page
    form = [("field_name", "Score"), ("field_type", "1"), ("format", ".00"), ("visible", "on")]
    assert ui.post("/ui/fields", form).status_code == 303
    fields = ok(client.get("/v1/marketing/lists/fields"))["result"]
    assert any(f["field_name"] == "Score" for f in fields)
    again = ui.post("/ui/fields", form)
    words = api_message(
        client.post(
            "/v1/marketing/lists/fields",
            json={"field_name": "Score", "field_type": 1, "format": ".00"},
        )
    )
    assert again.status_code == 400 and slot_text(again.text, "err-field_name") == words


def test_site_token_reveal_and_rotate(shared: Shared) -> None:
    ui, client = shared.ui, shared.api
    site_id = ok(client.get("/v1/sites"))["result"][0]["site_id"]
    page = ui.get("/ui/sites").text
    assert f"/api/dms/segmentation/segments?site={site_id}&amp;callback=tC_funcEngage" in page
    revealed = ui.post(f"/ui/sites/{site_id}/token", headers={"HX-Request": "true"}).text
    token = ok(client.get(f"/v1/sites/{site_id}/token"))["result"]["token"]
    assert f'value="{token}"' in revealed
    rotated = ui.post(f"/ui/sites/{site_id}/rotate").text
    new_token = ok(client.get(f"/v1/sites/{site_id}/token"))["result"]["token"]
    assert new_token != token and f'value="{new_token}"' in rotated
    lookup = f"/api/dms/segmentation/segments/list?site={site_id}&token="
    assert client.get(lookup + token).status_code == 401
    assert client.get(lookup + new_token).status_code == 200


def test_french_wording_on_request(shared: Shared) -> None:
    ui = Ui(shared.server, shared.tenant.api_user, shared.tenant.api_key)
    segment_id = make_segment(shared.api)
    ui.post("/ui/language", [("lang", "fr"), ("back", "/ui/members")])
    page = ui.get("/ui/segments").text
    assert '<html lang="fr">' in page and "Nouveau segment" in page
    assert "Age est au moins “25”" in ui.get(f"/ui/segments/{segment_id}").text
    for path in ("/ui/segments/new", "/ui/members", "/ui/fields", "/ui/sites", "/ui/nope"):
        answer = ui.get(path)
        assert answer.status_code in (200, 404) and '<html lang="fr">' in answer.text


# --- packaging -------------------------------------------------------------------------------


def test_assets_are_served_and_shipped(anon: httpx.Client) -> None:
    htmx = anon.get("/ui/static/htmx.min.js")
    assert htmx.status_code == 200 and "htmx" in htmx.text[:200]
    assert anon.get("/ui/static/ui.css").status_code == 200
    import tomllib

    globs = tomllib.loads((SRC.parents[1] / "pyproject.toml").read_text())["tool"]["setuptools"]
    patterns = globs["package-data"]["segmentd"]
    shipped = {p for pattern in patterns for p in SRC.glob(pattern) if p.is_file()}
    assets = [SRC / "api" / "ui" / folder for folder in ("templates", "static")]
    ui_files = {p for folder in assets for p in folder.rglob("*") if p.is_file()}
    assert ui_files and ui_files <= shipped
    assert (SRC / "api" / "ui" / "static" / "htmx.LICENSE.txt").is_file()


def test_a_building_segment_shows_progress_and_is_polled(db: Database, db_url: str) -> None:
    tenant = make_tenant(db)
    with (
        LiveServer(test_settings(db_url), start_worker=False) as server,  # builds never run
        server.client(auth=tenant.auth) as api,
    ):
        body = {"segment_name": "Pending", "type": 0, "condition": THREE_CONDITIONS}
        ok(api.post(FIELDS, json={"field_name": "Age", "field_type": 1}))
        ok(api.post(FIELDS, json={"field_name": "Birthday", "field_type": 3}))
        ok(api.post(MEMBERS, json={"update_existing": True, "members": [
            {"email": "a@example.com", "tags": ["VIP"]}]}))  # fmt: skip
        segment_id = ok(api.post(SEGMENTS, json=body))["result"]["segment_id"]
        ui = Ui(server, tenant.api_user, tenant.api_key)
        listing = ui.get("/ui/segments").text
        assert "<progress" in listing and 'hx-trigger="every 1s"' in listing
        status = ui.get(f"/ui/segments/{segment_id}/status", headers={"HX-Request": "true"})
        assert "HX-Refresh" not in status.headers and 'hx-trigger="every 1s"' in status.text
        assert "segmentation in progress" in status.text
