"""Tags over real HTTP: listing with counts, renames that segments follow, guarded deletes."""

from __future__ import annotations

import httpx

from segmentd.storage.db import Database
from tests.conftest import AppServer, make_tenant, wait_built
from tests.support.ingest_helpers import SEGMENTS, TAGS, all_members, error, ok, upsert


def tags_by_name(client: httpx.Client) -> dict[str, dict]:
    return {t["tag_name"]: t for t in ok(client.get(TAGS, params={"limit": 100}))["result"]}


def vip_segment(client: httpx.Client) -> str:
    body = {
        "segment_name": "VIP",
        "type": 0,
        "condition": {
            "relation": "and",
            "items": [{"field_name": "tag", "op": "==", "value": "vip"}],
        },
    }
    segment_id: str = ok(client.post(SEGMENTS, json=body))["result"]["segment_id"]
    return segment_id


def test_list_tags_with_counts_and_paging(client: httpx.Client) -> None:
    upsert(client, [{"email": "a@example.com", "tags": ["vip", "news"]}])
    upsert(client, [{"email": "b@example.com", "tags": ["news"]}])
    listed = ok(client.get(TAGS))
    assert [(t["tag_name"], t["member_count"]) for t in listed["result"]] == [
        ("news", 2),
        ("vip", 1),
    ]
    assert listed["total"] == listed["count"] == 2
    page = ok(client.get(TAGS, params={"offset": 1, "limit": 1}))
    assert page["count"] == 1 and page["total"] == 2 and page["result"][0]["tag_name"] == "vip"


def test_renamed_tags_read_back_in_segments(client: httpx.Client) -> None:
    upsert(client, [{"email": "a@example.com", "tags": ["vip"]}])
    upsert(client, [{"email": "b@example.com", "tags": ["gold"]}])
    segment_id = vip_segment(client)
    wait_built(client, segment_id)
    tags = tags_by_name(client)
    url = f"{TAGS}/{tags['vip']['tag_id']}"
    assert "already exists" in error(client.put(url, json={"tag_name": "gold"}))
    assert error(client.put(url, json={"tag_name": " "})).startswith("[tag_name]")
    renamed = ok(client.put(url, json={"tag_name": "VIP club"}))["result"]
    assert renamed == {**tags["vip"], "tag_name": "VIP club"}
    assert all_members(client)["a@example.com"]["tag_names"] == ["VIP club"]
    segment = ok(client.get(f"{SEGMENTS}/{segment_id}"))["result"]
    assert segment["condition"]["items"][0]["value"] == "VIP club"
    # The segment keeps working under the new name: real time, then after a rebuild.
    upsert(client, [{"email": "c@example.com", "tags": ["VIP club"]}])
    assert ok(client.get(f"{SEGMENTS}/{segment_id}"))["result"]["member_total"] == 2
    ok(client.put(f"{SEGMENTS}/{segment_id}", json={"type": 0, "condition": segment["condition"]}))
    assert wait_built(client, segment_id)["member_total"] == 2


def test_delete_guarded_by_segments(client: httpx.Client) -> None:
    upsert(client, [{"email": "a@example.com", "tags": ["vip", "old"]}])
    vip_segment(client)
    tags = tags_by_name(client)
    assert "VIP" in error(client.delete(f"{TAGS}/{tags['vip']['tag_id']}"))
    assert ok(client.delete(f"{TAGS}/{tags['old']['tag_id']}")) == {"count": 1}
    assert all_members(client)["a@example.com"]["tag_names"] == ["vip"]
    error(client.delete(f"{TAGS}/{tags['old']['tag_id']}"), 404, 30036)


def test_other_tenants_tags_are_not_found(
    client: httpx.Client, server: AppServer, db: Database
) -> None:
    other = make_tenant(db, "other")
    with server.client(auth=other.auth) as theirs:
        upsert(theirs, [{"email": "a@example.com", "tags": ["secret"]}])
        tag_id = tags_by_name(theirs)["secret"]["tag_id"]
        error(client.put(f"{TAGS}/{tag_id}", json={"tag_name": "mine"}), 404, 30036)
        error(client.delete(f"{TAGS}/{tag_id}"), 404, 30036)
        assert list(tags_by_name(theirs)) == ["secret"]
    assert tags_by_name(client) == {}
