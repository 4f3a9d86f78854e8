"""Custom fields over real HTTP: the naming, type, format and option rules, the 50-field cap,
renames that segments follow, and deletions that clear values unless a segment needs them."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
import sqlalchemy as sa

from segmentd.domain.fields import RESERVED_NAMES
from segmentd.storage.db import Database
from segmentd.storage.schema import MAX_CUSTOM_FIELDS, members, segments
from tests.conftest import AppServer, Tenant, make_tenant, wait_built
from tests.support.ingest_helpers import FIELDS, SEGMENTS, error, make_field, ok, upsert

BAD_FIELDS: list[tuple[dict[str, Any], str]] = [
    ({"field_name": "", "field_type": 0}, "[field_name]"),
    ({"field_name": "a" * 65, "field_type": 0}, "[field_name]"),
    ({"field_name": "with space", "field_type": 0}, "[field_name]"),
    ({"field_name": "Âge", "field_type": 0}, "[field_name]"),
    ({"field_name": "Age", "field_type": 5}, "[field_type]"),
    ({"field_name": "Age", "field_type": True}, "[field_type]"),
    ({"field_name": "Age", "field_type": 1, "format": "0.0"}, "[format]"),
    ({"field_name": "Day", "field_type": 2, "format": "YYYY-MM-DD"}, "[format]"),
    ({"field_name": "Bday", "field_type": 3, "format": "MM/DD/YYYY"}, "[format]"),
    ({"field_name": "City", "field_type": 0, "format": "0"}, "[format]"),
    ({"field_name": "Plan", "field_type": 4}, "[options]"),
    ({"field_name": "Plan", "field_type": 4, "options": []}, "[options]"),
    ({"field_name": "Plan", "field_type": 4, "options": [str(i) for i in range(11)]}, "[options]"),
    ({"field_name": "Plan", "field_type": 4, "options": ["a", 2]}, "[options[1]]"),
    ({"field_name": "Plan", "field_type": 4, "options": ["a", "a"]}, "[options]"),
    ({"field_name": "Plan", "field_type": 4, "options": ["a\0"]}, "[options[0]]"),
    ({"field_name": "City", "field_type": 0, "options": ["a"]}, "[options]"),
    ({"field_name": "City", "field_type": 0, "visible": "yes"}, "[visible]"),
]


def test_field_rules(client: httpx.Client) -> None:
    for body, path in BAD_FIELDS:
        assert error(client.post(FIELDS, json=body)).startswith(path), body
    assert ok(client.get(FIELDS))["total"] == 3  # nothing was created


@pytest.mark.parametrize("case", [str.lower, str.upper, str.title])
def test_system_names_are_reserved_in_any_case(client: httpx.Client, case: Any) -> None:
    for name in sorted(RESERVED_NAMES):
        message = error(client.post(FIELDS, json={"field_name": case(name), "field_type": 0}))
        assert "system field" in message


def test_create_list_and_defaults(client: httpx.Client) -> None:
    age = make_field(client, "Age", 1)
    assert age["format"] == "0" and age["visible"] is True and age["options"] is None
    plan = make_field(client, "Plan", 4, options=["Free", "Pro"], visible=False)
    assert plan["options"] == ["Free", "Pro"] and plan["visible"] is False
    assert make_field(client, "Signup", 2)["format"] == "MM/DD/YYYY"
    assert make_field(client, "Bday", 3, format="DD/MM")["format"] == "DD/MM"
    listed = ok(client.get(FIELDS))
    names = [f["field_name"] for f in listed["result"]]
    assert names == ["Email", "Name", "Phone", "Age", "Plan", "Signup", "Bday"]
    assert listed["total"] == listed["count"] == 7
    assert [f["system"] for f in listed["result"][:4]] == [True, True, True, False]


def test_names_are_unique_in_any_case(client: httpx.Client) -> None:
    make_field(client, "City", 0)
    assert "already exists" in error(
        client.post(FIELDS, json={"field_name": "CITY", "field_type": 1})
    )


def test_fifty_fields_counting_email_name_and_phone(client: httpx.Client, db: Database) -> None:
    created = [make_field(client, f"F{i}", i % 4) for i in range(MAX_CUSTOM_FIELDS)]
    assert sorted(f["field_id"] for f in created) == [f["field_id"] for f in created]
    message = error(client.post(FIELDS, json={"field_name": "OneTooMany", "field_type": 0}))
    assert "at most 50 fields" in message
    # Deleting one frees its slot for a new field.
    ok(client.delete(f"{FIELDS}/{created[10]['field_id']}"))
    make_field(client, "Replacement", 0)
    assert ok(client.get(FIELDS))["total"] == 50


def test_update_renames_toggles_and_keeps_type(client: httpx.Client) -> None:
    field = make_field(client, "Town", 0)
    url = f"{FIELDS}/{field['field_id']}"
    renamed = ok(client.put(url, json={"field_name": "City", "visible": False}))["result"]
    assert renamed["field_name"] == "City" and renamed["visible"] is False
    assert error(client.put(url, json={"field_type": 1})).startswith("[field_type]")
    make_field(client, "Country", 0)
    assert "already exists" in error(client.put(url, json={"field_name": "country"}))
    assert "system field" in error(client.put(url, json={"field_name": "phone"}))
    assert error(client.put(url, json={"options": ["a"]})).startswith("[options]")


def test_dropdown_options_change_clears_dropped_values(client: httpx.Client) -> None:
    plan = make_field(client, "Plan", 4, options=["Free", "Pro", "Legacy"])
    upsert(client, [{"email": "a@example.com", "fields": {"Plan": "Legacy"}}])
    upsert(client, [{"email": "b@example.com", "fields": {"Plan": "Pro"}}])
    url = f"{FIELDS}/{plan['field_id']}"
    ok(client.put(url, json={"options": ["Free", "Pro", "Enterprise"]}))
    a = ok(client.get("/v1/marketing/lists/members", params={"limit": 100}))["result"]
    assert {m["email"]: m["fields"]["Plan"] for m in a} == {
        "a@example.com": None,
        "b@example.com": "Pro",
    }
    # A dropdown value must now be one of the new options.
    bad = upsert(client, [{"email": "c@example.com", "fields": {"Plan": "Legacy"}}])
    assert bad["created"] == 0 and "options" in bad["errors"][0]["message"]


def segment_on(client: httpx.Client, name: str, field_name: str, op: str, value: str) -> str:
    body = {
        "segment_name": name,
        "type": 0,
        "condition": {
            "relation": "and",
            "items": [{"field_name": field_name, "op": op, "value": value}],
        },
    }
    segment_id: str = ok(client.post(SEGMENTS, json=body))["result"]["segment_id"]
    return segment_id


def stored_condition(db: Database, segment_id: str) -> str:
    with db.read() as conn:
        found = sa.select(segments.c.condition).where(segments.c.id == segment_id)
        return str(conn.execute(found).scalar_one())


def test_fields_used_by_segments(client: httpx.Client, db: Database, tenant: Tenant) -> None:
    city = make_field(client, "City", 0)
    plan = make_field(client, "Plan", 4, options=["Free", "Pro"])
    upsert(client, [{"email": "p@example.com", "fields": {"City": "Paris", "Plan": "Pro"}}])
    segment_id = segment_on(client, "Parisians", "city", "==", "Paris")
    segment_on(client, "Pro plan", "Plan", "==", "Pro")
    wait_built(client, segment_id)
    # Deleting a field a segment tests is refused, naming the segment.
    assert "Parisians" in error(client.delete(f"{FIELDS}/{city['field_id']}"))
    # So is dropping a dropdown option a segment tests.
    message = error(client.put(f"{FIELDS}/{plan['field_id']}", json={"options": ["Free"]}))
    assert "Pro plan" in message
    # A rename leaves the stored condition (it names the field by id), which reads back under
    # the new name; the segment still builds and keeps its member.
    stored = stored_condition(db, segment_id)
    assert f"custom:{city['field_id']}" in stored
    ok(client.put(f"{FIELDS}/{city['field_id']}", json={"field_name": "Town"}))
    assert stored_condition(db, segment_id) == stored
    segment = ok(client.get(f"{SEGMENTS}/{segment_id}"))["result"]
    assert segment["condition"]["items"][0]["field_name"] == "Town"
    ok(client.put(f"{SEGMENTS}/{segment_id}", json={"type": 0, "condition": segment["condition"]}))
    assert wait_built(client, segment_id)["member_total"] == 1


def test_delete_clears_the_slot(client: httpx.Client, db: Database, tenant: Tenant) -> None:
    city = make_field(client, "City", 0)
    age = make_field(client, "Age", 1)
    upsert(client, [{"email": "p@example.com", "fields": {"City": "Paris", "Age": "30"}}])
    assert ok(client.delete(f"{FIELDS}/{city['field_id']}")) == {"count": 1}
    with db.read() as conn:
        row = conn.execute(sa.select(members).where(members.c.tenant_id == tenant.id)).one()
    assert row._mapping[f"t{1}"] is None and row._mapping["n2"] == 30.0
    # A new field reusing the slot starts empty, not with the old values.
    make_field(client, "Town", 0)
    member = ok(client.get("/v1/marketing/lists/members"))["result"][0]
    assert member["fields"] == {"Age": "30", "Town": None}
    assert age["field_id"] != city["field_id"]


def test_other_tenants_fields_are_not_found(
    client: httpx.Client, server: AppServer, db: Database
) -> None:
    other = make_tenant(db, "other")
    with server.client(auth=other.auth) as theirs:
        field_id = make_field(theirs, "Secret", 0)["field_id"]
    for answer in (
        client.put(f"{FIELDS}/{field_id}", json={"field_name": "Mine"}),
        client.delete(f"{FIELDS}/{field_id}"),
        client.delete(f"{FIELDS}/not-a-number"),
    ):
        error(answer, 404, 30036)
    assert [f["field_name"] for f in ok(client.get(FIELDS))["result"]] == ["Email", "Name", "Phone"]
    with server.client() as nobody:
        error(nobody.post(FIELDS, json={}), 401, 30000)
