"""Every validation rule of the EngageLab segments API: a bad request answers 400, code 30035,
with a ``[path]:reason`` message. One server per backend serves the whole module (the requests
here never change what the others see).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest

from segmentd.domain.fields import CampaignStatus, FieldType
from segmentd.storage.db import Database
from tests.conftest import BACKENDS, LiveServer, make_tenant, migrated_database_url
from tests.conftest import test_settings as settings_for
from tests.support.factories import add_campaign, add_field, add_list, add_member, add_tag

BASE = "/v1/marketing/lists/segments"


@dataclass
class Setup:
    http: httpx.Client
    segment_id: str
    completed: int
    draft: int
    foreign_campaign: int
    foreign_list: int


def _catalog(db: Database, tenant_id: int) -> tuple[int, int]:
    add_field(db, tenant_id, "Age", FieldType.NUMBER)
    add_field(db, tenant_id, "Joined", FieldType.DATE, format="MM/DD/YYYY")
    add_field(db, tenant_id, "Birthday", FieldType.BIRTHDAY, format="DD/MM")
    add_field(db, tenant_id, "Gender", FieldType.DROPDOWN, options=["Female", "Male"])
    add_tag(db, tenant_id, "vip")
    add_member(db, tenant_id, "a@example.com")
    completed = add_campaign(db, tenant_id, CampaignStatus.COMPLETED)
    draft = add_campaign(db, tenant_id, CampaignStatus.DRAFT)
    return completed, draft


@pytest.fixture(scope="module", params=BACKENDS)
def setup(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Setup]:
    urls = migrated_database_url(request.param, tmp_path_factory.mktemp("v"))
    url = next(urls)
    db = Database(url)
    db.migrate()
    tenant, other = make_tenant(db), make_tenant(db, "other")
    completed, draft = _catalog(db, tenant.id)
    foreign_campaign = add_campaign(db, other.id)
    foreign_list = add_list(db, other.id)
    with (
        LiveServer(settings_for(url)) as live,
        live.client(auth=tenant.auth, timeout=30) as http,
    ):
        answer = http.post(BASE, json=valid())
        assert answer.status_code == 200, answer.text
        segment_id = answer.json()["result"]["segment_id"]
        yield Setup(http, segment_id, completed, draft, foreign_campaign, foreign_list)
    db.dispose()
    for _ in urls:  # drops the PostgreSQL database
        pass


def valid(**changes: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "segment_name": "Valid",
        "type": 0,
        "condition": {"relation": "and", "items": [{"field_name": "Age", "op": ">", "value": "1"}]},
    }
    for key, value in changes.items():
        if value is ...:
            body.pop(key)
        else:
            body[key] = value
    return body


def cond(*items: Any, relation: str = "and") -> dict[str, Any]:
    return {"relation": relation, "items": list(items)}


def it(field_name: str, op: Any, value: Any, **extra: Any) -> dict[str, Any]:
    return {"field_name": field_name, "op": op, "value": value, **extra}


def by_campaign(campaign_id: Any, value: str = "open", op: str = "==") -> dict[str, Any]:
    item = it("campaign", op, value)
    if campaign_id is not ...:
        item["campaign_id"] = campaign_id
    return valid(type=1, condition=cond(item))


def assert_invalid(answer: httpx.Response, fragment: str) -> None:
    assert answer.status_code == 400, answer.text
    body = answer.json()
    assert body["code"] == 30035
    assert fragment in body["message"], body["message"]


SPECIALS = "^?+.*\\[]()"
SPECIALS_MESSAGE = (
    "[segment_name]:special characters such as ^, ?, +, ., *, \\, [, ], (, ) cannot be used"
)

# (body, expected message fragment) for POST; PUT shares the type and condition rules.
BAD_SEGMENTS: list[tuple[Any, str]] = [
    (valid(segment_name=...), "[segment_name]:segment_name is required"),
    (valid(segment_name=None), "[segment_name]:segment_name is required"),
    (valid(segment_name=""), "[segment_name]:segment_name is required"),
    (valid(segment_name="   "), "[segment_name]:segment_name is required"),
    (valid(segment_name=12), "[segment_name]:segment_name must be a string"),
    (valid(segment_name=["a"]), "[segment_name]:segment_name must be a string"),
    (valid(segment_name="x" * 49), "[segment_name]:segment_name must be at most 48 characters"),
    *[(valid(segment_name=f"a{c}b"), SPECIALS_MESSAGE) for c in SPECIALS],
    (valid(type=...), "[type]:type is required"),
    (valid(type=2), "[type]:type only be 0 (by field) or 1 (by campaign)"),
    (valid(type=-1), "[type]:type only be 0 (by field) or 1 (by campaign)"),
    (valid(type="0"), "[type]:type only be 0 (by field) or 1 (by campaign)"),
    (valid(type=True), "[type]:type only be 0 (by field) or 1 (by campaign)"),
    (valid(type=0.0), "[type]:type only be 0 (by field) or 1 (by campaign)"),
    (valid(condition=...), "[condition]:condition is required"),
    (valid(condition="Age > 1"), "[condition]:condition must be an object"),
    (valid(condition=cond(it("Age", ">", "1"), relation="xor")), "[condition.relation]:"),
    (valid(condition={"items": [it("Age", ">", "1")]}), "[condition.relation]:"),
    (valid(condition={"relation": "and", "items": {"a": 1}}), "[condition.items]:items must"),
    (valid(condition=cond()), "[condition.items]:items must hold 1 to 10 conditions"),
    (valid(condition=cond(*[it("Age", ">", "1")] * 11)), "[condition.items]:items must hold"),
    (valid(condition=cond("Age > 1")), "[condition.items[0]]:each condition must be an object"),
    (valid(condition=cond({"op": "==", "value": "1"})), "[condition.items[0].field_name]:"),
    (valid(condition=cond(it("Age", "=~", "1"))), "[condition.items[0].op]:op must be one of"),
    (valid(condition=cond(it("Age", None, "1"))), "[condition.items[0].op]:"),
    (valid(condition=cond(it("Age", ">", 13))), "[condition.items[0].value]:value is required"),
    (valid(condition=cond(it("Age", ">", None))), "[condition.items[0].value]:"),
    (valid(condition=cond(it("Nope", "==", "1"))), "field Nope does not exist"),
    (valid(condition=cond(it("Age", "contain", "1"))), "op for field Age must be one of"),
    (valid(condition=cond(it("Age", ">", "abc"))), "[condition.items[0].value]:field Age:"),
    (valid(condition=cond(it("Name", ">", "a"))), "op for field Name must be one of"),
    (valid(condition=cond(it("Joined", "==", "2020-01-01"))), "format MM/DD/YYYY"),
    (valid(condition=cond(it("Joined", "==", "02/30/2020"))), "not a valid date"),
    (valid(condition=cond(it("Birthday", "==", "31/02"))), "not a valid birthday"),
    (valid(condition=cond(it("Gender", "==", "Other"))), "must be one of the options"),
    (valid(condition=cond(it("Gender", "contain", "F"))), "op for field Gender must be one of"),
    (valid(condition=cond(it("CreateTime", ">", "01/01/2020"))), "format YYYY-MM-DD"),
    (valid(condition=cond(it("tag", "==", "nope"))), "tag nope does not exist"),
    (valid(condition=cond(it("tag", "contain", "vip"))), "op for tag must be one of"),
    (
        valid(condition=cond(it("campaign", "==", "open", campaign_id=1))),
        "needs a segment of type 1",
    ),
    (valid(type=1, condition=cond(it("Age", "==", "1"))), "field_name must be campaign"),
    (by_campaign(1, op="!="), "[condition.items[0].op]:op must be == when field_name is campaign"),
    (by_campaign(1, value="bounced"), "[condition.items[0].value]:value must be one of"),
    (by_campaign(...), "[condition.items[0].campaign_id]:campaign_id is required"),
    (by_campaign("1"), "[condition.items[0].campaign_id]:campaign_id is required"),
    (by_campaign(987654), "campaign 987654 does not exist"),
    (valid(list_id="x1"), "[list_id]:list_id must be an integer from 1 to"),
    (valid(list_id=True), "[list_id]:list_id must be an integer from 1 to"),
    (valid(list_id=2**64), "[list_id]:list_id must be an integer from 1 to"),
    (valid(list_id=2**53), "[list_id]:list_id must be an integer from 1 to"),
    (valid(list_id=-1), "[list_id]:list_id must be an integer from 1 to"),
    ([valid()], "Input should be a valid dictionary"),
]


@pytest.mark.parametrize(("body", "fragment"), BAD_SEGMENTS)
def test_create_rejects(setup: Setup, body: Any, fragment: str) -> None:
    assert_invalid(setup.http.post(BASE, json=body), fragment)


def test_create_rejects_campaigns_not_sending_completed_or_ours(setup: Setup) -> None:
    assert_invalid(
        setup.http.post(BASE, json=by_campaign(setup.draft)), "must be sending or completed"
    )
    foreign = by_campaign(setup.foreign_campaign)
    assert_invalid(setup.http.post(BASE, json=foreign), f"campaign {setup.foreign_campaign} does")
    for list_id in (setup.foreign_list, 987654):
        answer = setup.http.post(BASE, json=valid(list_id=list_id))
        assert answer.status_code == 404, answer.text  # names no list of the tenant
        assert answer.json() == {
            "code": 30035,
            "message": f"[list_id]:list {list_id} does not exist",
        }


@pytest.mark.parametrize(
    "content", [b"", b"{", b'{"segment_name": "x",}', b"\xff\xfe", b"null"], ids=repr
)
def test_create_rejects_bodies_that_are_not_json_objects(setup: Setup, content: bytes) -> None:
    answer = setup.http.post(BASE, content=content, headers={"Content-Type": "application/json"})
    assert answer.status_code == 400, answer.text
    assert answer.json()["code"] == 30035


@pytest.mark.parametrize(
    "body",
    [
        valid(segment_name="x" * 48),
        valid(segment_name="Âge 13-45 / été, 100% <ok> {yes} $ & | _ @ # !"),
        valid(condition=cond(*[it("age", ">", str(n)) for n in range(10)], relation="or")),
        valid(condition=cond(it("tag", "!=", "vip"), it("Joined", "<", "12/31/2020"))),
        valid(condition=cond(it("Birthday", ">=", "30/03"), it("gender", "!=", "Male"))),
        valid(condition=cond(it("UpdateTime", "<=", "2024-02-29"))),
    ],
)
def test_create_accepts_bodies_at_the_limits(setup: Setup, body: Any) -> None:
    answer = setup.http.post(BASE, json=body)
    assert answer.status_code == 200, answer.text
    assert answer.json()["result"]["segment_name"] == body["segment_name"]


def test_create_accepts_a_sending_or_completed_campaign(setup: Setup) -> None:
    answer = setup.http.post(BASE, json=by_campaign(setup.completed, value="notsent"))
    assert answer.status_code == 200, answer.text


# --- PUT ---------------------------------------------------------------------------------------

BAD_UPDATES: list[tuple[Any, str]] = [
    (None, "[type]:type is required"),
    ({"condition": cond(it("Age", ">", "1"))}, "[type]:type is required"),
    ({"type": 0}, "[condition]:condition is required"),
    (valid(segment_name=""), "[segment_name]:segment_name is required"),
    (valid(segment_name="a.b"), SPECIALS_MESSAGE),
    (valid(segment_name="y" * 49), "at most 48 characters"),
    (valid(type=3), "type only be 0 (by field) or 1 (by campaign)"),
    (valid(condition=cond(it("Age", "contain", "1"))), "op for field Age must be one of"),
    (by_campaign(...), "campaign_id is required"),
]


@pytest.mark.parametrize(("body", "fragment"), BAD_UPDATES)
def test_update_rejects(setup: Setup, body: Any, fragment: str) -> None:
    assert_invalid(setup.http.put(f"{BASE}/{setup.segment_id}", json=body), fragment)
    detail = setup.http.get(f"{BASE}/{setup.segment_id}").json()["result"]
    assert detail["segment_name"] == "Valid"  # nothing was saved


# --- list, members, member removal -------------------------------------------------------------

BAD_LIST_QUERIES: list[tuple[dict[str, Any], str]] = [
    ({"type": 2}, "type only be 0 (by field) or 1 (by campaign)"),
    ({"type": "abc"}, "type only be 0 (by field) or 1 (by campaign)"),
    ({"offset": -1}, "[offset]:"),
    ({"offset": "x"}, "[offset]:"),
    ({"offset": 2**64}, "[offset]:"),
    ({"limit": 0}, "[limit]:"),
    ({"limit": 101}, "[limit]:"),
    ({"limit": "ten"}, "[limit]:"),
]


@pytest.mark.parametrize(("params", "fragment"), BAD_LIST_QUERIES)
def test_list_rejects(setup: Setup, params: dict[str, Any], fragment: str) -> None:
    assert_invalid(setup.http.get(BASE, params=params), fragment)


def test_list_type_error_is_the_specs_message(setup: Setup) -> None:
    answer = setup.http.get(BASE, params={"type": 5})
    assert answer.json() == {
        "code": 30035,
        "message": "type only be 0 (by field) or 1 (by campaign)",
    }


BAD_MEMBER_QUERIES: list[tuple[dict[str, Any], Any, str]] = [
    ({"offset": -1}, None, "[offset]:"),
    ({"offset": 2**63}, None, "[offset]:"),
    ({"limit": 0}, None, "[limit]:"),
    ({"limit": 101}, None, "[limit]:"),
    ({}, {"condition": "x"}, "[condition]:condition must be an object"),
    ({}, {"condition": cond()}, "[condition.items]:items must hold 1 to 10 conditions"),
    ({}, {"condition": cond(it("Nope", "==", "1"))}, "field Nope does not exist"),
    ({}, {"condition": cond(it("Email", ">", "a"))}, "op for field Email must be one of"),
    ({}, {"condition": cond(it("tag", "==", "nope"))}, "tag nope does not exist"),
    ({}, {"condition": cond(it("campaign", "==", "open", campaign_id=1))}, "type 1"),
    ({}, [1], "Input should be a valid dictionary"),
]


@pytest.mark.parametrize(("params", "body", "fragment"), BAD_MEMBER_QUERIES)
def test_members_rejects(setup: Setup, params: dict[str, Any], body: Any, fragment: str) -> None:
    url = f"{BASE}/{setup.segment_id}/members"
    assert_invalid(setup.http.post(url, params=params, json=body), fragment)


def test_members_rejects_malformed_json(setup: Setup) -> None:
    url = f"{BASE}/{setup.segment_id}/members"
    answer = setup.http.post(url, content=b"{", headers={"Content-Type": "application/json"})
    assert_invalid(answer, "not valid JSON")


BAD_REMOVALS: list[tuple[Any, str]] = [
    (None, "[member_ids]:member_ids is required"),
    ({}, "[member_ids]:member_ids is required"),
    ({"member_ids": "1"}, "[member_ids]:member_ids must be a list of 1 to 1000 ids"),
    ({"member_ids": []}, "[member_ids]:member_ids must be a list of 1 to 1000 ids"),
    ({"member_ids": [str(n) for n in range(1001)]}, "[member_ids]:member_ids must be a list"),
    ({"member_ids": ["1", 2]}, "[member_ids[1]]:member ids must be strings"),
    ({"member_ids": [None]}, "[member_ids[0]]:member ids must be strings"),
]


@pytest.mark.parametrize(("body", "fragment"), BAD_REMOVALS)
def test_remove_members_rejects(setup: Setup, body: Any, fragment: str) -> None:
    url = f"{BASE}/{setup.segment_id}/members"
    assert_invalid(setup.http.request("DELETE", url, json=body), fragment)


def test_remove_members_accepts_1000_ids_of_any_text(setup: Setup) -> None:
    ids = [str(n) for n in range(997)] + ["abc", "９", "99999999999999999999999999"]
    url = f"{BASE}/{setup.segment_id}/members"
    answer = setup.http.request("DELETE", url, json={"member_ids": ids})
    assert answer.status_code == 200, answer.text
    assert answer.json()["count"] in (0, 1)


def test_names_with_nul_are_refused_by_the_text_rule(setup: Setup) -> None:
    fragment = "[segment_name]:must not contain the NUL character"
    assert_invalid(setup.http.post(BASE, json=valid(segment_name="a\x00b")), fragment)
    assert_invalid(setup.http.get(BASE, params={"segment_name": "a\x00b"}), fragment)


@pytest.mark.parametrize("name", ["tab\there", "line\n"])
def test_names_with_control_characters_are_refused(setup: Setup, name: str) -> None:
    fragment = "[segment_name]:segment_name cannot hold control characters"
    assert_invalid(setup.http.post(BASE, json=valid(segment_name=name)), fragment)
    answer = setup.http.get(BASE, params={"segment_name": name})
    assert answer.status_code == 200, answer.text
    assert answer.json()["total"] == 0


def test_paging_accepts_the_largest_offset(setup: Setup) -> None:
    offset = {"offset": 2**53 - 1}
    assert setup.http.get(BASE, params=offset).json()["result"] == []
    url = f"{BASE}/{setup.segment_id}/members"
    assert setup.http.post(url, params=offset).json()["result"] == []
    beyond = {"offset": 2**53}
    assert_invalid(setup.http.get(BASE, params=beyond), "[offset]:")
    assert_invalid(setup.http.post(url, params=beyond), "[offset]:")
