"""The membership history over HTTP (``api/native/history_routes.py``), on both databases: the
feeds of the tenant and of a segment read page by page with the cursor, a member's history,
whether a member was in a segment then, sizes by day, and the limits /openapi.json states."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx

from tests.conftest import wait_built
from tests.support.ingest_helpers import MEMBERS, SEGMENTS, error, ok, upsert

EMAIL_HAS = "/v1/changes"


def make_segment(client: httpx.Client, text: str) -> str:
    body = {
        "segment_name": f"Has {text}",
        "type": 0,
        "condition": {
            "relation": "and",
            "items": [{"field_name": "Email", "op": "contain", "value": text}],
        },
    }
    segment_id: str = ok(client.post(SEGMENTS, json=body))["result"]["segment_id"]
    wait_built(client, segment_id)
    return segment_id


def member_id(client: httpx.Client, email: str) -> int:
    page = ok(client.get(MEMBERS, params={"limit": 100}))["result"]
    return int(next(m["id"] for m in page if m["email"] == email))


def read_all(client: httpx.Client, path: str, limit: int, after: int = 0) -> list[dict[str, Any]]:
    """Every change after ``after``, a page at a time, the cursor kept as a consumer would."""
    found: list[dict[str, Any]] = []
    while True:
        page = ok(client.get(path, params={"after": after, "limit": limit}))
        assert page["count"] == len(page["result"]) <= limit
        found.extend(page["result"])
        if not page["result"]:
            assert page["next_after"] == after
            return found
        after = page["next_after"]
        assert after == page["result"][-1]["seq"]


def test_feeds_read_with_a_cursor_get_every_change_once_in_order(client: httpx.Client) -> None:
    upsert(client, [{"email": f"a{i}@shop.example"} for i in range(5)])
    upsert(client, [{"email": "b@other.example"}])
    shop = make_segment(client, "shop")
    every = make_segment(client, "@")
    tenant_feed = read_all(client, "/v1/changes", limit=2)
    seqs = [c["seq"] for c in tenant_feed]
    assert seqs == sorted(set(seqs)) and len(seqs) == 11
    assert {(c["segment_id"], c["change"], c["cause"]) for c in tenant_feed} == {
        (shop, "entered", "build"),
        (every, "entered", "build"),
    }
    first = tenant_feed[0]
    assert set(first) == {"seq", "segment_id", "list_id", "member_id", "change", "cause", "at"}
    assert datetime.fromisoformat(first["at"]) <= datetime.now(UTC)

    shop_feed = read_all(client, f"/v1/segments/{shop}/changes", limit=3)
    assert [c["seq"] for c in shop_feed] == [
        c["seq"] for c in tenant_feed if c["segment_id"] == shop
    ]

    # A consumer resuming from its stored cursor gets only what is new.
    cursor = seqs[-1]
    upsert(client, [{"email": "c@shop.example"}])
    new = read_all(client, "/v1/changes", limit=100, after=cursor)
    c_id = member_id(client, "c@shop.example")
    assert {(c["segment_id"], c["member_id"], c["cause"]) for c in new} == {
        (shop, c_id, "realtime"),
        (every, c_id, "realtime"),
    }


def test_a_members_history_and_whether_it_was_in_a_segment(client: httpx.Client) -> None:
    upsert(client, [{"email": "ann@shop.example"}])
    shop = make_segment(client, "shop")
    ann = member_id(client, "ann@shop.example")
    before = (datetime.now(UTC) - timedelta(days=1)).isoformat()
    time.sleep(1.1)  # times are whole seconds: the removal comes a second after the entry
    ok(client.request("DELETE", f"{SEGMENTS}/{shop}/members", json={"member_ids": [str(ann)]}))
    history = ok(client.get(f"/v1/members/{ann}/changes"))["result"]
    assert [(c["change"], c["cause"]) for c in history] == [
        ("entered", "build"),
        ("left", "removal"),
    ]
    only = ok(client.get(f"/v1/members/{ann}/changes", params={"segment_id": "nope"}))
    assert only["result"] == []

    was = f"/v1/segments/{shop}/members/{ann}/was-member"
    assert ok(client.get(was))["member"] is False  # now: removed
    entered_at = history[0]["at"]
    assert ok(client.get(was, params={"at": entered_at}))["member"] is True
    assert ok(client.get(was, params={"at": before}))["member"] is False
    naive = datetime.fromisoformat(entered_at.replace("Z", "")).isoformat()
    assert ok(client.get(was, params={"at": naive}))["member"] is True  # no zone: UTC

    error(client.get(f"/v1/members/{ann + 1000}/changes"), 404, 30036)
    error(client.get(f"/v1/segments/{shop}/members/{ann + 1000}/was-member"), 404, 30036)
    error(client.get("/v1/segments/nope/changes"), 404, 30036)
    error(client.get("/v1/segments/nope/sizes"), 404, 30036)


def test_sizes_by_day_and_the_stated_limits(client: httpx.Client) -> None:
    upsert(client, [{"email": f"a{i}@shop.example"} for i in range(3)])
    shop = make_segment(client, "shop")
    today = datetime.now(UTC).date()
    sizes = ok(client.get(f"/v1/segments/{shop}/sizes"))
    assert sizes["count"] == 30 == len(sizes["result"])
    assert sizes["result"][-1] == {"day": today.isoformat(), "size": 3}
    assert sizes["result"][0] == {"day": (today - timedelta(days=29)).isoformat(), "size": None}
    week = {"from": (today - timedelta(days=6)).isoformat(), "to": today.isoformat()}
    assert ok(client.get(f"/v1/segments/{shop}/sizes", params=week))["count"] == 7

    too_long = {"from": (today - timedelta(days=366)).isoformat(), "to": today.isoformat()}
    assert "366" in error(client.get(f"/v1/segments/{shop}/sizes", params=too_long))
    backwards = {"from": today.isoformat(), "to": (today - timedelta(days=1)).isoformat()}
    error(client.get(f"/v1/segments/{shop}/sizes", params=backwards))
    error(client.get("/v1/changes", params={"limit": 1001}))
    error(client.get("/v1/changes", params={"after": -1}))
    error(client.get("/v1/changes", params={"after": 2**53}))

    spec = ok(client.get("/openapi.json"))
    params = {p["name"]: p["schema"] for p in spec["paths"]["/v1/changes"]["get"]["parameters"]}
    assert params["limit"]["maximum"] == 1000 and params["after"]["maximum"] == 2**53 - 1
    assert "/v1/segments/{segment_id}/members/{member_id}/was-member" in spec["paths"]
    assert "/v1/members/{member_id}/changes" in spec["paths"]
    assert "/v1/segments/{segment_id}/sizes" in spec["paths"]


def test_the_history_needs_credentials(anon: httpx.Client) -> None:
    error(anon.get("/v1/changes"), 401, 30000)
