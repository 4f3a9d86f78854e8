"""Tags per member (at most 1000) and per request through the members API, on SQLite and
PostgreSQL: a list too long is a 400 for the request; appending past the limit is an error
for that row alone, checked before anything of the row is written."""

from __future__ import annotations

import httpx

from segmentd.storage.db import Database
from segmentd.storage.tags import MAX_TAGS_PER_MEMBER, MAX_TAGS_PER_REQUEST
from tests.conftest import Tenant
from tests.support.factories import add_member
from tests.support.import_helpers import member_state
from tests.support.ingest_helpers import MEMBERS, error, upsert


def _names(prefix: str, count: int) -> list[str]:
    return [f"{prefix}{i}" for i in range(count)]


def test_a_member_with_more_than_1000_tags_is_a_400(client: httpx.Client) -> None:
    body = {
        "update_existing": True,
        "members": [
            {"email": "ann@example.com", "tags": ["a"]},
            {"email": "bo@example.com", "tags": _names("t", MAX_TAGS_PER_MEMBER + 1)},
        ],
    }
    message = error(client.post(MEMBERS, json=body))
    assert message == "[members[1].tags]:a member has at most 1000 tags"
    result = upsert(client, [{"email": "bo@example.com", "tags": _names("t", 1000)}])
    assert (result["created"], result["errors"]) == (1, [])


def test_a_request_names_at_most_10000_distinct_tags(client: httpx.Client) -> None:
    members = [
        {"email": f"m{i}@example.com", "tags": _names(f"m{i}-", 1000)}
        for i in range(MAX_TAGS_PER_REQUEST // 1000 + 1)
    ]
    message = error(client.post(MEMBERS, json={"update_existing": True, "members": members}))
    assert message == "[members]:a request names at most 10000 tags"


def test_appending_past_the_limit_is_an_error_for_that_row_only(
    client: httpx.Client, db: Database, tenant: Tenant
) -> None:
    add_member(db, tenant.id, "full@example.com", name="Full", tags=_names("old", 995))
    add_member(db, tenant.id, "room@example.com", tags=["old0"])
    rows = [
        {"email": "full@example.com", "name": "Changed", "tags": _names("new", 6)},
        {"email": "room@example.com", "tags": _names("new", 6)},
        {"email": "same@example.com", "tags": ["x"]},
        {"email": "full@example.com", "tags": ["old1", "new0"]},
    ]
    result = upsert(client, rows[:3], tag_flag=1)
    assert (result["created"], result["updated"]) == (1, 1)
    assert result["errors"] == [
        {"index": 0, "email": "full@example.com", "message": "a member has at most 1000 tags"}
    ]
    state = member_state(db, tenant.id)
    full = state["full@example.com"]
    assert full["name"] == "Full" and len(full["tags"]) == 995  # nothing of the row written
    assert len(state["room@example.com"]["tags"]) == 7
    # Up to the limit exactly is fine; overwriting always is (the list itself is bounded).
    assert upsert(client, [{"email": "full@example.com", "tags": _names("new", 5)}])["updated"] == 1
    assert len(member_state(db, tenant.id)["full@example.com"]["tags"]) == MAX_TAGS_PER_MEMBER
    assert upsert(client, [rows[3]], tag_flag=0)["errors"] == []
    assert member_state(db, tenant.id)["full@example.com"]["tags"] == {"old1", "new0"}


def test_the_limits_are_stated_in_openapi(anon: httpx.Client) -> None:
    spec = anon.get("/openapi.json").json()
    members = spec["components"]["schemas"]["MembersUpsert"]["properties"]["members"]
    tags = members["items"]["x-item-rules"]["properties"]["tags"]["anyOf"][0]
    assert tags["maxItems"] == MAX_TAGS_PER_MEMBER
    assert "at most 10000 distinct tags" in members["description"]
