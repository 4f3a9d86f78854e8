"""The EngageLab segments API over real HTTP, on SQLite and PostgreSQL, with the build worker."""

from __future__ import annotations

import base64
import re
from typing import Any

import httpx
import pytest
import sqlalchemy as sa

from segmentd.domain.fields import CampaignStatus, FieldType
from segmentd.jobs.build_queue import enqueue_build
from segmentd.membership.buckets import recount
from segmentd.membership.pages import member_page
from segmentd.membership.removal import remove_members
from segmentd.services.segment_service import insert_segment
from segmentd.storage.db import Database
from segmentd.storage.schema import (
    build_jobs,
    segment_buckets,
    segment_exclusions,
    segment_members,
    segments,
)
from segmentd.storage.segments import get_segment
from segmentd.storage.tenants import default_list_id
from tests.conftest import AppServer, Tenant, make_tenant, wait_built
from tests.support.factories import (
    add_activity,
    add_campaign,
    add_field,
    add_list,
    add_member,
    add_tag,
    number_of,
)
from tests.support.stored_conditions import stored_condition

BASE = "/v1/marketing/lists/segments"
SEGMENT_TIME = re.compile(r"\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}\+0800")
MEMBER_TIME = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\+0800")
COMPLETE = "segmentation complete"


def by_field(*items: dict[str, Any], relation: str = "and", name: str = "Segment") -> dict:
    return {
        "segment_name": name,
        "type": 0,
        "condition": {"relation": relation, "items": list(items)},
    }


def item(field_name: str, op: str, value: str) -> dict[str, str]:
    return {"field_name": field_name, "op": op, "value": value}


def create(client: httpx.Client, body: dict[str, Any]) -> dict[str, Any]:
    answer = client.post(BASE, json=body)
    assert answer.status_code == 200, answer.text
    result: dict[str, Any] = answer.json()["result"]
    return result


def create_built(client: httpx.Client, body: dict[str, Any]) -> dict[str, Any]:
    return wait_built(client, create(client, body)["segment_id"])


def member_emails(client: httpx.Client, segment_id: str, body: Any = None, **params: Any) -> list:
    answer = client.post(f"{BASE}/{segment_id}/members", params=params, json=body)
    assert answer.status_code == 200, answer.text
    return [member["email"] for member in answer.json()["result"]]


def assert_error(answer: httpx.Response, status: int, code: int) -> dict[str, Any]:
    assert answer.status_code == status, answer.text
    body: dict[str, Any] = answer.json()
    assert body["code"] == code
    assert set(body) == {"code", "message"}
    return body


# --- the spec's own requests ------------------------------------------------------------------


def test_create_answers_at_once_then_builds_the_spec_example(
    client: httpx.Client, db: Database, tenant: Tenant
) -> None:
    for email, name in [
        ("lei@example.com", "Lei Li"),
        ("junior@example.com", "lei li junior"),
        ("han@example.com", "Han Meimei"),
    ]:
        add_member(db, tenant.id, email, name=name)
    body = {
        "segment_name": "Utilisateur Hubei",
        "type": 0,
        "condition": {
            "relation": "and",
            "items": [{"field_name": "Name", "op": "contain", "value": "Lei Li"}],
        },
    }
    created = create(client, body)
    assert created["status"] == "1"
    assert created["process"]["complete"] is False
    assert re.fullmatch(r"[0-9a-f]{24}", created["segment_id"])
    with db.read() as conn:
        list_id = default_list_id(conn, tenant.id)
    assert created["user_id"] == tenant.id
    assert created["list_id"] == list_id
    assert created["segment_name"] == "Utilisateur Hubei"
    assert created["relation"] == "and"
    assert created["type"] == 0
    assert created["condition"] == {
        "relation": "and",
        "items": [{"campaign_id": None, "field_name": "Name", "op": "contain", "value": "Lei Li"}],
    }
    assert SEGMENT_TIME.fullmatch(created["create_time"])
    assert SEGMENT_TIME.fullmatch(created["update_time"])

    built = wait_built(client, created["segment_id"])
    assert built["status"] == "2"
    assert built["member_total"] == 2  # case-insensitive contain
    assert built["process"] == {"statusDesc": COMPLETE, "complete": True, "percent": 100}
    assert list(built) == [
        "segment_id", "user_id", "segment_name", "relation", "type", "list_id", "status",
        "create_time", "update_time", "member_total", "condition", "process",
    ]  # fmt: skip


def test_put_replays_the_spec_age_example_and_rebuilds(
    client: httpx.Client, db: Database, tenant: Tenant
) -> None:
    add_field(db, tenant.id, "Age", FieldType.NUMBER)
    for age in (12, 13, 30, 45, 46):
        add_member(db, tenant.id, f"age{age}@example.com", values={"Age": str(age)})
    add_member(db, tenant.id, "noage@example.com")
    segment = create_built(client, by_field(item("Age", ">", "40"), name="Old"))
    assert segment["member_total"] == 2

    answer = client.put(
        f"{BASE}/{segment['segment_id']}",
        json={
            "segment_name": "Âge entre 13 et 45",
            "type": 0,
            "condition": {
                "relation": "and",
                "items": [
                    {"field_name": "Age", "op": ">=", "value": "13"},
                    {"field_name": "Age", "op": "<=", "value": "45"},
                ],
            },
        },
    )
    assert answer.status_code == 200, answer.text
    result = answer.json()["result"]
    assert result["status"] == "1"
    assert result["segment_name"] == "Âge entre 13 et 45"
    assert result["condition"]["items"] == [
        {"campaign_id": None, "field_name": "Age", "op": ">=", "value": "13"},
        {"campaign_id": None, "field_name": "Age", "op": "<=", "value": "45"},
    ]
    rebuilt = wait_built(client, segment["segment_id"])
    assert rebuilt["member_total"] == 3
    assert rebuilt["create_time"] == segment["create_time"]

    # segment_name is optional on PUT: the name stays; field names are matched in any case.
    answer = client.put(
        f"{BASE}/{segment['segment_id']}",
        json={"type": 0, "condition": {"relation": "and", "items": [item("age", "==", "12")]}},
    )
    assert answer.status_code == 200, answer.text
    assert answer.json()["result"]["segment_name"] == "Âge entre 13 et 45"
    assert answer.json()["result"]["condition"]["items"][0]["field_name"] == "Age"
    assert wait_built(client, segment["segment_id"])["member_total"] == 1


def test_members_replays_the_spec_email_filter(
    client: httpx.Client, db: Database, tenant: Tenant
) -> None:
    for email in ("paulchen0518@yahoo.com.tw", "q510518@yahoo.com.tw", "someone@example.com"):
        add_member(db, tenant.id, email)
    segment = create_built(client, by_field(item("Email", "contain", "@")))
    assert segment["member_total"] == 3
    answer = client.post(
        f"{BASE}/{segment['segment_id']}/members",
        params={"offset": 0, "limit": 10},
        json={
            "condition": {
                "relation": "and",
                "items": [{"field_name": "Email", "op": "contain", "value": "tw"}],
            }
        },
    )
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert body["total"] == 2
    assert [m["email"] for m in body["result"]] == [
        "paulchen0518@yahoo.com.tw",
        "q510518@yahoo.com.tw",
    ]


def test_delete_members_replays_the_spec_body(
    client: httpx.Client, db: Database, tenant: Tenant
) -> None:
    add_member(db, tenant.id, "one@example.com")
    segment = create_built(client, by_field(item("Email", "contain", "@")))
    answer = client.request(
        "DELETE",
        f"{BASE}/{segment['segment_id']}/members",
        json={"member_ids": ["asdfsdf2211212aa", "2sadfs288332223s"]},
    )
    assert answer.status_code == 200, answer.text
    assert answer.json() == {"count": 0}


# --- members ----------------------------------------------------------------------------------


def test_member_json_shows_every_value_in_its_format(
    client: httpx.Client, db: Database, tenant: Tenant
) -> None:
    add_field(db, tenant.id, "Score", FieldType.NUMBER, format=".00")
    add_field(db, tenant.id, "Joined", FieldType.DATE, format="DD/MM/YYYY")
    add_field(db, tenant.id, "Birthday", FieldType.BIRTHDAY, format="MM/DD")
    add_field(db, tenant.id, "Gender", FieldType.DROPDOWN, options=["Female", "Male"])
    add_field(db, tenant.id, "City")
    b_tag, a_tag = add_tag(db, tenant.id, "vip"), add_tag(db, tenant.id, "early")
    full = add_member(
        db,
        tenant.id,
        "shanshan@example.com",
        name="shanshan",
        phone="+8613800000000",
        values={"Score": "7.5", "Joined": "31/12/2020", "Birthday": "03/30", "Gender": "Female"},
        tags=["vip", "early"],
        created_at=1654482512,
        updated_at=1654482522,
        unsubscribed_at=1654482532,
    )
    bare = add_member(db, tenant.id, "bare@example.com", created_at=1654482512)
    segment = create_built(client, by_field(item("Email", "contain", "@")))
    answer = client.post(f"{BASE}/{segment['segment_id']}/members")
    assert answer.status_code == 200, answer.text
    first, second = answer.json()["result"]
    assert first == {
        "id": str(full),
        "list_id": segment["list_id"],
        "email": "shanshan@example.com",
        "phone": "+8613800000000",
        "name": "shanshan",
        "create_time": "2022-06-06T10:28:32+0800",
        "update_time": "2022-06-06T10:28:42+0800",
        "unsubscribe_time": "2022-06-06T10:28:52+0800",
        "fields": {
            "Score": "7.50",
            "Joined": "31/12/2020",
            "Birthday": "03/30",
            "Gender": "Female",
            "City": None,
        },
        "tag_ids": [str(b_tag), str(a_tag)],
        "tag_names": ["vip", "early"],
    }
    assert second["id"] == str(bare)
    assert second["unsubscribe_time"] is None
    assert MEMBER_TIME.fullmatch(second["update_time"])
    assert second["tag_ids"] == [] and second["tag_names"] == []
    assert set(second["fields"].values()) == {None}


@pytest.mark.parametrize("body", [None, {}, {"condition": None}], ids=["absent", "empty", "null"])
def test_members_without_a_filter_pages_by_id(
    client: httpx.Client, db: Database, tenant: Tenant, body: Any
) -> None:
    emails = [f"m{i}@example.com" for i in range(5)]
    for email in emails:
        add_member(db, tenant.id, email)
    segment = create_built(client, by_field(item("Email", "contain", "@")))
    url = f"{BASE}/{segment['segment_id']}/members"
    page = client.post(url, params={"offset": 1, "limit": 3}, json=body).json()
    assert page["total"] == 5
    assert [m["email"] for m in page["result"]] == emails[1:4]
    assert member_emails(client, segment["segment_id"], body) == emails  # default limit 10
    assert member_emails(client, segment["segment_id"], body, offset=5) == []


def test_members_filter_on_tags_and_fields(
    client: httpx.Client, db: Database, tenant: Tenant
) -> None:
    add_member(db, tenant.id, "a@example.com", name="Ann", tags=["vip"])
    add_member(db, tenant.id, "b@example.com", name="Bob", tags=["vip"])
    add_member(db, tenant.id, "c@example.com", name="Cid")
    segment = create_built(client, by_field(item("Domain", "==", "example.com")))
    vip = {"condition": {"relation": "and", "items": [item("tag", "==", "vip")]}}
    assert member_emails(client, segment["segment_id"], vip) == ["a@example.com", "b@example.com"]
    either = {
        "condition": {
            "relation": "or",
            "items": [item("tag", "!=", "vip"), item("name", "==", "ann")],
        }
    }
    assert member_emails(client, segment["segment_id"], either) == [
        "a@example.com",
        "c@example.com",
    ]


def test_removed_members_stay_out_across_rebuilds(
    client: httpx.Client, db: Database, tenant: Tenant
) -> None:
    ids = [add_member(db, tenant.id, f"m{i}@example.com") for i in range(4)]
    outsider = add_member(db, tenant.id, "out@elsewhere.org")
    body = by_field(item("Domain", "==", "example.com"))
    segment = create_built(client, body)
    segment_id = segment["segment_id"]
    assert segment["member_total"] == 4
    url = f"{BASE}/{segment_id}/members"

    # Only current members count; the outsider and unknown ids are not.
    answer = client.request(
        "DELETE", url, json={"member_ids": [str(ids[1]), str(ids[2]), str(outsider), "999999"]}
    )
    assert answer.json() == {"count": 2}
    assert client.get(f"{BASE}/{segment_id}").json()["result"]["member_total"] == 2
    assert member_emails(client, segment_id) == ["m0@example.com", "m3@example.com"]
    assert client.request("DELETE", url, json={"member_ids": [str(ids[1])]}).json() == {"count": 0}

    # The same condition again: the rebuild leaves the removed members out.
    assert client.put(f"{BASE}/{segment_id}", json=body).status_code == 200
    rebuilt = wait_built(client, segment_id)
    assert rebuilt["member_total"] == 2
    assert member_emails(client, segment_id) == ["m0@example.com", "m3@example.com"]
    with db.read() as conn:
        excluded = conn.execute(
            sa.select(segment_exclusions.c.member_id).where(
                segment_exclusions.c.segment_id == segment_id
            )
        ).scalars()
        # The outsider is a member of the list, so it is excluded too; "999999" names nobody.
        assert sorted(excluded) == sorted([ids[1], ids[2], outsider])


def test_removal_reaches_the_generation_a_build_is_filling(db: Database, tenant: Tenant) -> None:
    kept, removed = add_member(db, tenant.id, "k@example.com"), add_member(db, tenant.id, "r@x.org")
    with db.write() as conn:
        list_id = default_list_id(conn, tenant.id)
        condition = {"relation": "and", "items": [item("Email", "contain", "@")]}
        segment_id = insert_segment(
            conn,
            tenant.id,
            list_id=list_id,
            name="S",
            segment_type=0,
            condition=stored_condition(conn, tenant.id, condition),
        )
        # Generation 1 is published with both members; a build is filling generation 2.
        conn.execute(
            sa.update(segments).values(generation=1, member_total=2, status=2, percent=100)
        )
        enqueue_build(conn, tenant.id, segment_id)
        number = conn.execute(sa.select(number_of(segment_id))).scalar_one()
        conn.execute(
            sa.insert(segment_members),
            [
                {"tenant_id": tenant.id, "segment_number": number, "generation": g, "member_id": m}
                for g in (1, 2)
                for m in (kept, removed)
            ],
        )
        for generation in (1, 2):
            recount(conn, tenant.id, number, generation, 0, max(kept, removed))
    with db.write() as conn:
        assert remove_members(conn, tenant.id, segment_id, [removed, removed]) == 1
        assert remove_members(conn, tenant.id + 1, segment_id, [kept]) is None
    with db.read() as conn:
        rows = conn.execute(sa.select(segment_members.c.generation, segment_members.c.member_id))
        assert sorted(rows) == [(1, kept), (2, kept)]
        segment = get_segment(conn, tenant.id, segment_id)
        assert segment is not None and segment.member_total == 1
        assert member_page(conn, segment) == ([kept], 1)


def test_exclusions_only_record_members_of_the_segments_list(
    client: httpx.Client, db: Database, tenant: Tenant
) -> None:
    other_list = add_list(db, tenant.id)
    elsewhere = add_member(db, tenant.id, "x@example.com", list_id=other_list)
    other_tenant = make_tenant(db, "other")
    foreign = add_member(db, other_tenant.id, "y@example.com")
    segment = create_built(client, by_field(item("Email", "contain", "@")))
    answer = client.request(
        "DELETE",
        f"{BASE}/{segment['segment_id']}/members",
        json={"member_ids": [str(elsewhere), str(foreign)]},
    )
    assert answer.json() == {"count": 0}
    with db.read() as conn:
        assert (
            conn.execute(sa.select(sa.func.count()).select_from(segment_exclusions)).scalar() == 0
        )


def test_segment_on_another_list_holds_only_that_lists_members(
    client: httpx.Client, db: Database, tenant: Tenant
) -> None:
    other_list = add_list(db, tenant.id)
    add_member(db, tenant.id, "default@example.com")
    add_member(db, tenant.id, "other@example.com", list_id=other_list)
    body = by_field(item("Email", "contain", "@")) | {"list_id": other_list}
    segment = create_built(client, body)
    assert segment["list_id"] == other_list
    assert member_emails(client, segment["segment_id"]) == ["other@example.com"]


def test_segment_by_campaign(client: httpx.Client, db: Database, tenant: Tenant) -> None:
    campaign = add_campaign(db, tenant.id, CampaignStatus.SENDING)
    opened = add_member(db, tenant.id, "opened@example.com")
    sent = add_member(db, tenant.id, "sent@example.com")
    add_member(db, tenant.id, "never@example.com")
    add_activity(db, tenant.id, campaign, opened, opened=True)
    add_activity(db, tenant.id, campaign, sent)

    def segment(value: str) -> list[str]:
        condition = {
            "relation": "and",
            "items": [
                {"field_name": "campaign", "op": "==", "value": value, "campaign_id": campaign}
            ],
        }
        built = create_built(client, {"segment_name": value, "type": 1, "condition": condition})
        assert built["type"] == 1
        assert built["condition"] == condition
        return member_emails(client, built["segment_id"])

    assert segment("open") == ["opened@example.com"]
    assert segment("unopen") == ["sent@example.com"]
    assert segment("notsent") == ["never@example.com"]


# --- reading, listing, progress, deletion -----------------------------------------------------


def test_process_reports_the_segment_status(
    client: httpx.Client, db: Database, tenant: Tenant
) -> None:
    segment = create_built(client, by_field(item("Email", "contain", "@")))
    url = f"{BASE}/{segment['segment_id']}/process"
    assert client.get(url).json() == {
        "result": {"percent": 100, "complete": True, "statusDesc": COMPLETE}
    }
    for status, percent, expected in [
        (1, 68, "segmentation in progress, please do not use this segment to send emails"),
        (-1, 10, "segmentation failed"),
    ]:
        with db.write() as conn:
            conn.execute(sa.update(segments).values(status=status, percent=percent))
        assert client.get(url).json() == {
            "result": {"percent": percent, "complete": False, "statusDesc": expected}
        }
        detail = client.get(f"{BASE}/{segment['segment_id']}").json()["result"]
        assert detail["status"] == str(status)
        assert detail["process"]["statusDesc"] == expected


def test_delete_removes_the_segment_and_everything_it_owns(
    client: httpx.Client, db: Database, tenant: Tenant
) -> None:
    member = add_member(db, tenant.id, "a@example.com")
    add_member(db, tenant.id, "b@example.com")
    segment_id = create_built(client, by_field(item("Email", "contain", "@")))["segment_id"]
    client.request("DELETE", f"{BASE}/{segment_id}/members", json={"member_ids": [str(member)]})
    answer = client.delete(f"{BASE}/{segment_id}")
    assert answer.status_code == 200 and answer.json() == {"count": 1}
    assert_error(client.get(f"{BASE}/{segment_id}"), 404, 30036)
    assert_error(client.delete(f"{BASE}/{segment_id}"), 404, 30036)
    with db.read() as conn:
        for table in (segments, segment_members, segment_buckets, segment_exclusions, build_jobs):
            count = sa.select(sa.func.count()).select_from(table)
            assert conn.execute(count).scalar() == 0, table.name


def _set_created(db: Database, segment_id: str, created_at: int) -> None:
    with db.write() as conn:
        conn.execute(
            sa.update(segments).where(segments.c.id == segment_id).values(created_at=created_at)
        )


def test_list_filters_pages_and_orders_newest_first(
    client: httpx.Client, server: AppServer, db: Database, tenant: Tenant
) -> None:
    names = ["Buyers 100%", "buyers_2023", "Big buyers", "Readers", "Campaign openers"]
    ids = {}
    for age, name in enumerate(names):
        ids[name] = create(client, by_field(item("Email", "contain", "@"), name=name))["segment_id"]
        _set_created(db, ids[name], 1_700_000_000 + age)
    campaign = add_campaign(db, tenant.id)
    condition = {
        "relation": "and",
        "items": [{"field_name": "campaign", "op": "==", "value": "open", "campaign_id": campaign}],
    }
    by_campaign = create(client, {"segment_name": "Openers", "type": 1, "condition": condition})
    _set_created(db, by_campaign["segment_id"], 1_800_000_000)
    other = make_tenant(db, "other")
    with server.client(auth=other.auth) as foreign:
        create(foreign, by_field(item("Email", "contain", "@"), name="Buyers abroad"))

    def listed(**params: Any) -> tuple[list[str], int, int]:
        answer = client.get(BASE, params=params)
        assert answer.status_code == 200, answer.text
        body = answer.json()
        assert body["count"] == len(body["result"])
        return [s["segment_name"] for s in body["result"]], body["total"], body["count"]

    everything = ["Openers", *reversed(names)]
    assert listed() == (everything, 6, 6)
    assert listed(offset=1, limit=2) == (everything[1:3], 6, 2)
    assert listed(offset=6) == ([], 6, 0)
    assert listed(segment_name="BUYERS") == (["Big buyers", "buyers_2023", "Buyers 100%"], 3, 3)
    assert listed(segmentName="buyers") == (["Big buyers", "buyers_2023", "Buyers 100%"], 3, 3)
    # LIKE wildcards in the filter match themselves only.
    assert listed(segment_name="%") == (["Buyers 100%"], 1, 1)
    assert listed(segment_name="s_2") == (["buyers_2023"], 1, 1)
    assert listed(segment_name="rs 1") == (["Buyers 100%"], 1, 1)
    assert listed(type=1) == (["Openers"], 1, 1)
    assert listed(type=0, segment_name="open") == (["Campaign openers"], 1, 1)


def test_list_limit_defaults_to_10_and_caps_at_100(client: httpx.Client) -> None:
    for index in range(12):
        create(client, by_field(item("Email", "contain", "@"), name=f"S{index}"))
    assert len(client.get(BASE).json()["result"]) == 10
    assert client.get(BASE, params={"limit": 100}).json()["count"] == 12
    assert_error(client.get(BASE, params={"limit": 101}), 400, 30035)


# --- isolation and authentication -------------------------------------------------------------

SEGMENT_CALLS: list[tuple[str, str, Any]] = [
    ("GET", "", None),
    ("PUT", "", by_field(item("Email", "contain", "@"))),
    ("DELETE", "", None),
    ("GET", "/process", None),
    ("POST", "/members", None),
    ("DELETE", "/members", {"member_ids": ["1"]}),
]


@pytest.fixture
def foreign_segment(server: AppServer, db: Database) -> str:
    """A built segment of another tenant."""
    other = make_tenant(db, "other")
    add_member(db, other.id, "theirs@example.com")
    with server.client(auth=other.auth, timeout=30) as theirs:
        return create_built(theirs, by_field(item("Email", "contain", "@")))["segment_id"]


@pytest.mark.parametrize(("method", "suffix", "body"), SEGMENT_CALLS)
def test_another_tenants_segment_is_not_found(
    client: httpx.Client, foreign_segment: str, method: str, suffix: str, body: Any
) -> None:
    answer = client.request(method, f"{BASE}/{foreign_segment}{suffix}", json=body)
    assert assert_error(answer, 404, 30036)["message"] == "not found"
    for unknown in ("000000000000000000000000", "x" * 300):
        answer = client.request(method, f"{BASE}/{unknown}{suffix}", json=body)
        assert_error(answer, 404, 30036)
    # NUL in the path is refused as unstorable text, like anywhere else in a request.
    assert_error(client.request(method, f"{BASE}/%00{suffix}", json=body), 400, 30035)
    assert client.get(BASE).json()["total"] == 0


def _basic(text: str) -> str:
    return "Basic " + base64.b64encode(text.encode()).decode()


AUTH_CALLS = [("POST", BASE), ("GET", BASE), ("GET", f"{BASE}/x"), ("DELETE", f"{BASE}/x/members")]


@pytest.mark.parametrize(
    "header",
    [None, "Basic !!!not-base64!!!", "Bearer abc", "wrong-key", "no-colon", "unknown-user"],
)
def test_authentication_failures_answer_401(
    anon: httpx.Client, tenant: Tenant, header: str | None
) -> None:
    headers = {}
    if header == "wrong-key":
        headers["Authorization"] = _basic(f"{tenant.api_user}:{tenant.api_key}x")
    elif header == "no-colon":
        headers["Authorization"] = _basic(tenant.api_user)
    elif header == "unknown-user":
        headers["Authorization"] = _basic(f"nobody:{tenant.api_key}")
    elif header is not None:
        headers["Authorization"] = header
    for method, path in AUTH_CALLS:
        body = by_field(item("Email", "contain", "@")) if method == "POST" else None
        answer = anon.request(method, path, json=body, headers=headers)
        assert_error(answer, 401, 30000)


def test_openapi_documents_the_segments_api(anon: httpx.Client) -> None:
    spec = anon.get("/openapi.json").json()
    create_op = spec["paths"][BASE]["post"]
    assert {"400", "401", "404"} <= set(create_op["responses"])
    schema = spec["components"]["schemas"]["SegmentCreate"]
    assert schema["required"] == ["segment_name", "type", "condition"]
    assert schema["properties"]["condition"]["properties"]["items"]["maxItems"] == 10
    for path, method in [
        (f"{BASE}/{{segment_id}}", "put"),
        (f"{BASE}/{{segment_id}}", "delete"),
        (f"{BASE}/{{segment_id}}", "get"),
        (BASE, "get"),
        (f"{BASE}/{{segment_id}}/process", "get"),
        (f"{BASE}/{{segment_id}}/members", "post"),
        (f"{BASE}/{{segment_id}}/members", "delete"),
    ]:
        assert method in spec["paths"][path]
