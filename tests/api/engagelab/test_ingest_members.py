"""Members over real HTTP: upsert by email, per-row errors, tag_flag, update_existing, paging,
delete and unsubscribe, and tenant isolation."""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest
import sqlalchemy as sa

from segmentd.storage.db import Database
from segmentd.storage.schema import campaign_activity, member_tags, segment_members, segments
from tests.conftest import AppServer, Tenant, make_tenant, wait_built
from tests.support.factories import add_list
from tests.support.ingest_helpers import (
    CAMPAIGNS,
    MEMBERS,
    SEGMENTS,
    all_members,
    error,
    make_campaign,
    make_field,
    ok,
    upsert,
)


def test_create_then_update_by_email_in_any_case(client: httpx.Client) -> None:
    make_field(client, "Age", 1)
    make_field(client, "Signup", 2, format="DD/MM/YYYY")
    first = upsert(
        client,
        [
            {
                "email": "Ann@Example.com",
                "name": "Ann",
                "phone": "+33 1 23",
                "fields": {"age": "30", "Signup": "31/12/2023"},
                "tags": ["vip"],
                "tcid": "1001",
            }
        ],
    )
    assert first == {"created": 1, "updated": 0, "skipped": 0, "errors": []}
    member = all_members(client)["Ann@Example.com"]
    assert member["name"] == "Ann" and member["phone"] == "+33 1 23"
    assert member["fields"] == {"Age": "30", "Signup": "31/12/2023"}
    assert member["tag_names"] == ["vip"] and member["unsubscribe_time"] is None
    second = upsert(client, [{"email": "ann@example.COM", "fields": {"Age": "31", "Signup": ""}}])
    assert second["updated"] == 1 and second["created"] == 0
    member = all_members(client)["ann@example.COM"]
    # Absent name and phone are left as they were; an empty value clears a field.
    assert member["name"] == "Ann" and member["phone"] == "+33 1 23"
    assert member["fields"] == {"Age": "31", "Signup": None}
    assert ok(client.get(f"{MEMBERS}/{member['id']}"))["result"]["email"] == "ann@example.COM"


BAD_ROWS: list[tuple[Any, str]] = [
    ({"email": "short"}, "6 to 128"),
    ({"email": "no-at-sign.example.com"}, "local@domain"),
    ({"email": ("x" * 97) + "@example.com"}, "at most 96"),
    ({"email": "a..b@example.com"}, "before @"),
    ({"email": "ann@-bad.com"}, "domain labels"),
    ({"email": "ann@example.c"}, "top-level domain"),
    ({"email": "ann@example.c0m"}, "top-level domain"),
    ({"name": "no email"}, "email is required"),
    ("not an object", "must be an object"),
    ({"email": "ok@example.com", "fields": {"Nope": "1"}}, "field Nope does not exist"),
    ({"email": "ok@example.com", "fields": {"Email": "x@example.com"}}, "does not exist"),
    ({"email": "ok@example.com", "fields": {"Age": "thirty"}}, "field Age"),
    ({"email": "ok@example.com", "fields": {"Bday": "13/45"}}, "field Bday"),
    ({"email": "ok@example.com", "fields": {"Plan": "Gold"}}, "options"),
    ({"email": "ok@example.com", "fields": {"Age": ["1"]}}, "must be a string"),
    ({"email": "ok@example.com", "tags": "vip"}, "tags must be a list"),
    ({"email": "ok@example.com", "tags": [""]}, "tag name"),
    ({"email": "ok@example.com", "tcid": "12ab"}, "tcid"),
    ({"email": "ok@example.com", "name": "n" * 256}, "name must be"),
    ({"email": "ok@example.com", "emial": "typo"}, "unknown key emial"),
    ({"email": "ok@example.com", "tags": ["a b" * 100]}, "tag name"),
]


def test_bad_rows_are_reported_and_good_rows_stored(client: httpx.Client) -> None:
    make_field(client, "Age", 1)
    make_field(client, "Bday", 3)
    make_field(client, "Plan", 4, options=["Free", "Pro"])
    make_field(client, "City", 0)
    # A good row after each bad one: the good rows must all land.
    rows: list[Any] = []
    for index, (bad, _) in enumerate(BAD_ROWS):
        rows += [bad, {"email": f"good{index}@example.com", "tags": ["t"]}]
    result = upsert(client, rows)
    assert result["created"] == len(BAD_ROWS)
    assert [e["index"] for e in result["errors"]] == list(range(0, 2 * len(BAD_ROWS), 2))
    for error_row, (bad, reason) in zip(result["errors"], BAD_ROWS, strict=True):
        assert reason in error_row["message"], (bad, error_row)
        assert error_row["email"] == (bad.get("email") if isinstance(bad, dict) else None)
    stored = all_members(client)
    assert sorted(stored) == sorted(f"good{i}@example.com" for i in range(len(BAD_ROWS)))
    # The bad rows wrote nothing: no half-created member, no stray tag.
    tags = ok(client.get("/v1/marketing/lists/tags", params={"limit": 100}))["result"]
    assert [t["tag_name"] for t in tags] == ["t"]


@pytest.mark.parametrize(
    ("member", "path"),
    [
        ({"email": "ok@example.com", "name": "a\0b"}, "[members[1].name]"),
        ({"email": "ok@example.com", "fields": {"City": "a\0b"}}, "[members[1].fields.City]"),
        ({"email": "ok@example.com", "tags": ["a\0b"]}, "[members[1].tags[0]]"),
        ({"email": "ok@example.com", "tags": ["\ud800"]}, "[members[1].tags[0]]"),
    ],
)
def test_unstorable_text_refuses_the_whole_call(
    client: httpx.Client, member: dict[str, Any], path: str
) -> None:
    """PostgreSQL text cannot hold NUL, nor can any database a lone surrogate: nothing lands."""
    make_field(client, "City", 0)
    rows = [{"email": "first@example.com"}, member]
    # As a hostile client spells it: json.dumps writes a lone surrogate as its \u escape.
    body = json.dumps({"update_existing": True, "members": rows})
    answer = client.post(MEMBERS, content=body, headers={"content-type": "application/json"})
    assert answer.status_code == 400, answer.text
    assert answer.json()["code"] == 30035
    assert answer.json()["message"].startswith(path + ":must not contain")
    assert all_members(client) == {}


def test_repeated_email_or_tcid_in_one_request(client: httpx.Client) -> None:
    result = upsert(
        client,
        [
            {"email": "a@example.com", "tcid": "7"},
            {"email": "A@EXAMPLE.com"},
            {"email": "b@example.com", "tcid": "7"},
        ],
    )
    assert result["created"] == 1
    assert [(e["index"], "index 0" in e["message"]) for e in result["errors"]] == [
        (1, True),
        (2, True),
    ]
    # A visitor id belongs to one member of a list.
    taken = upsert(client, [{"email": "c@example.com", "tcid": "7"}])
    assert taken["created"] == 0 and "belongs to another member" in taken["errors"][0]["message"]


def test_envelope_rules(client: httpx.Client) -> None:
    one = [{"email": "a@example.com"}]
    cases: list[tuple[dict[str, Any], str]] = [
        ({"members": one}, "[update_existing]"),
        ({"members": one, "update_existing": "true"}, "[update_existing]"),
        ({"members": one, "update_existing": True, "tag_flag": 3}, "[tag_flag]"),
        ({"members": [], "update_existing": True}, "[members]"),
        ({"members": one * 1001, "update_existing": True}, "[members]"),
        ({"members": one, "update_existing": True, "list_id": "x"}, "[list_id]"),
    ]
    for body, path in cases:
        assert error(client.post(MEMBERS, json=body)).startswith(path), body
    assert all_members(client) == {}


def test_a_thousand_members_in_one_call(client: httpx.Client) -> None:
    rows = [{"email": f"user{i}@example.com", "tags": ["bulk"]} for i in range(1000)]
    assert upsert(client, rows)["created"] == 1000
    assert upsert(client, rows)["updated"] == 1000
    assert ok(client.get(MEMBERS, params={"limit": 1}))["total"] == 1000


def test_update_existing_false_leaves_members_untouched(client: httpx.Client) -> None:
    upsert(client, [{"email": "a@example.com", "name": "Ann", "tags": ["old"]}])
    result = upsert(
        client,
        [
            {"email": "a@example.com", "name": "Changed", "tags": ["new"]},
            {"email": "b@example.com", "name": "Bob", "tags": ["new"]},
        ],
        update=False,
        tag_flag=0,
    )
    assert result == {"created": 1, "updated": 0, "skipped": 1, "errors": []}
    stored = all_members(client)
    assert stored["a@example.com"]["name"] == "Ann"
    assert stored["a@example.com"]["tag_names"] == ["old"]
    assert stored["b@example.com"]["tag_names"] == ["new"]


# (tag_flag, tags sent to an existing member tagged [t1, t2, t3]) -> its tags afterwards
TAG_FLAG_CASES = [
    (0, ["t3", "t4", "t5"], ["t3", "t4", "t5"]),
    (0, [], []),
    (0, None, ["t1", "t2", "t3"]),
    (0, "absent", ["t1", "t2", "t3"]),
    (1, ["t3", "t4", "t5"], ["t1", "t2", "t3", "t4", "t5"]),
    (1, [], ["t1", "t2", "t3"]),
    (1, None, ["t1", "t2", "t3"]),
    ("absent", ["t4"], ["t1", "t2", "t3", "t4"]),
    (2, ["t4", "t5"], ["t1", "t2", "t3"]),
    (2, [], ["t1", "t2", "t3"]),
]


@pytest.mark.parametrize(("flag", "sent", "expected"), TAG_FLAG_CASES)
def test_tag_flag(client: httpx.Client, flag: Any, sent: Any, expected: list[str]) -> None:
    upsert(client, [{"email": "old@example.com", "tags": ["t1", "t2", "t3"]}])
    row: dict[str, Any] = {"email": "old@example.com"}
    new_row: dict[str, Any] = {"email": "new@example.com"}
    if sent != "absent":
        row["tags"] = new_row["tags"] = sent
    extra = {} if flag == "absent" else {"tag_flag": flag}
    upsert(client, [row, new_row], **extra)
    stored = all_members(client)
    assert sorted(stored["old@example.com"]["tag_names"]) == expected
    # A new member always gets the tags it was sent, whatever the flag.
    new_tags = [] if sent in (None, "absent") else sorted(sent)
    assert sorted(stored["new@example.com"]["tag_names"]) == new_tags


def test_paging_and_lists(client: httpx.Client, db: Database, tenant: Tenant) -> None:
    upsert(client, [{"email": f"m{i:02d}@example.com"} for i in range(25)])
    page = ok(client.get(MEMBERS, params={"offset": 20}))
    assert page["total"] == 25 and page["count"] == 5
    assert [m["email"] for m in page["result"]] == [f"m{i}@example.com" for i in range(20, 25)]
    assert ok(client.get(MEMBERS))["count"] == 10
    for params in ({"limit": 0}, {"limit": 101}, {"offset": -1}):
        error(client.get(MEMBERS, params=params))
    second = add_list(db, tenant.id)
    upsert(client, [{"email": "m00@example.com", "name": "other list"}], list_id=second)
    assert ok(client.get(MEMBERS, params={"list_id": second}))["total"] == 1
    assert ok(client.get(MEMBERS))["total"] == 25


def test_unsubscribe(client: httpx.Client) -> None:
    upsert(client, [{"email": "a@example.com"}, {"email": "b@example.com"}])
    body = {"emails": ["A@example.com", "nobody@example.com"]}
    assert ok(client.post(f"{MEMBERS}/unsubscribe", json=body)) == {"count": 1}
    assert ok(client.post(f"{MEMBERS}/unsubscribe", json=body)) == {"count": 0}
    stored = all_members(client)
    assert stored["a@example.com"]["unsubscribe_time"] is not None
    assert stored["b@example.com"]["unsubscribe_time"] is None
    # A later upsert does not resubscribe.
    upsert(client, [{"email": "a@example.com", "name": "Ann"}])
    assert all_members(client)["a@example.com"]["unsubscribe_time"] is not None
    error(client.post(f"{MEMBERS}/unsubscribe", json={"emails": []}))


def test_delete_members_and_everything_about_them(
    client: httpx.Client, db: Database, tenant: Tenant
) -> None:
    upsert(client, [{"email": f"m{i}@example.com", "tags": ["vip"]} for i in range(4)])
    ids = {email: m["id"] for email, m in all_members(client).items()}
    campaign = make_campaign(client)
    events = [{"email": email, "event": "click"} for email in ids]
    ok(client.post(f"{CAMPAIGNS}/{campaign}/events", json={"events": events}))
    body = {
        "segment_name": "VIP",
        "type": 0,
        "condition": {
            "relation": "and",
            "items": [{"field_name": "tag", "op": "==", "value": "vip"}],
        },
    }
    segment_id = ok(client.post(SEGMENTS, json=body))["result"]["segment_id"]
    assert wait_built(client, segment_id)["member_total"] == 4
    by_id = {"member_ids": [ids["m0@example.com"], int(ids["m1@example.com"]), "999999", "x"]}
    assert ok(client.request("DELETE", MEMBERS, json=by_id)) == {"count": 2}
    by_email = {"emails": ["M2@example.com", "nobody@example.com"]}
    assert ok(client.request("DELETE", MEMBERS, json=by_email)) == {"count": 1}
    assert sorted(all_members(client)) == ["m3@example.com"]
    segment = ok(client.get(f"{SEGMENTS}/{segment_id}"))["result"]
    assert segment["member_total"] == 1
    left = int(ids["m3@example.com"])
    with db.read() as conn:
        held_as_complement = conn.execute(sa.select(segments.c.horizon)).scalar_one() > 0
        for table in (segment_members, member_tags, campaign_activity):
            holders = conn.execute(
                sa.select(table.c.member_id).where(table.c.tenant_id == tenant.id)
            ).scalars()
            # The segment holds everyone left, so it may be stored as its (empty) complement.
            expected = set() if table is segment_members and held_as_complement else {left}
            assert set(holders) == expected, table.name
        total = conn.execute(sa.select(segments.c.member_total)).scalar_one()
    assert total == 1
    error(client.request("DELETE", MEMBERS, json={}))
    error(client.request("DELETE", MEMBERS, json={"member_ids": [], "emails": []}))
    # list_id is read only with emails, but a malformed one is refused either way.
    malformed = {"member_ids": [str(left)], "list_id": [1]}
    assert error(client.request("DELETE", MEMBERS, json=malformed)).startswith("[list_id]")
    assert sorted(all_members(client)) == ["m3@example.com"]


def test_other_tenants_members_are_not_found(
    client: httpx.Client, server: AppServer, db: Database
) -> None:
    other = make_tenant(db, "other")
    other_list = add_list(db, other.id, "Theirs")
    with server.client(auth=other.auth) as theirs:
        upsert(theirs, [{"email": "secret@example.com"}])
        their_id = all_members(theirs)["secret@example.com"]["id"]
        error(client.get(f"{MEMBERS}/{their_id}"), 404, 30036)
        error(client.get(MEMBERS, params={"list_id": other_list}), 404, 30036)
        error(
            client.post(
                MEMBERS,
                json={
                    "update_existing": True,
                    "list_id": other_list,
                    "members": [{"email": "x@example.com"}],
                },
            ),
            404,
            30036,
        )
        assert ok(client.request("DELETE", MEMBERS, json={"member_ids": [their_id]}))["count"] == 0
        body = {"emails": ["secret@example.com"]}
        assert ok(client.post(f"{MEMBERS}/unsubscribe", json=body))["count"] == 0
        assert all_members(theirs)["secret@example.com"]["unsubscribe_time"] is None
    error(client.get(f"{MEMBERS}/abc"), 404, 30036)
    assert all_members(client) == {}
