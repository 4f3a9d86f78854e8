"""Campaigns and events over real HTTP: statuses, click => open => sent with first times kept,
per-event errors, and tenant isolation."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from typing import Any

import httpx
import pytest
import sqlalchemy as sa

from segmentd.storage.db import Database
from segmentd.storage.schema import campaign_activity
from tests.conftest import AppServer, Tenant, make_tenant
from tests.support.factories import add_list
from tests.support.ingest_helpers import CAMPAIGNS, all_members, error, make_campaign, ok, upsert

UTC8 = timezone(timedelta(hours=8))


def activity(db: Database, tenant: Tenant, campaign_id: int) -> dict[int, tuple]:
    c = campaign_activity.c
    with db.read() as conn:
        rows = conn.execute(
            sa.select(c.member_id, c.sent_at, c.opened_at, c.clicked_at).where(
                c.tenant_id == tenant.id, c.campaign_id == campaign_id
            )
        )
        return {row.member_id: tuple(row)[1:] for row in rows}


def test_create_get_list_update(client: httpx.Client) -> None:
    created = ok(client.post(CAMPAIGNS, json={"campaign_name": "Spring"}))["result"]
    assert created["status"] == "draft" and created["stats"] == {
        "sent": 0,
        "opened": 0,
        "clicked": 0,
    }
    url = f"{CAMPAIGNS}/{created['campaign_id']}"
    assert ok(client.get(url))["result"] == created
    moved = ok(client.put(url, json={"status": "sending", "campaign_name": "Spring sale"}))
    assert (
        moved["result"]["status"] == "sending" and moved["result"]["campaign_name"] == "Spring sale"
    )
    assert "cannot become draft" in error(client.put(url, json={"status": "draft"}))
    ok(client.put(url, json={"status": "completed"}))
    assert "cannot become sending" in error(client.put(url, json={"status": "sending"}))
    make_campaign(client, "draft")
    listed = ok(client.get(CAMPAIGNS))
    assert listed["total"] == 2 and listed["result"][0]["status"] == "draft"
    only = ok(client.get(CAMPAIGNS, params={"status": "completed"}))
    assert [c["campaign_id"] for c in only["result"]] == [created["campaign_id"]]
    bad = (
        {},
        {"campaign_name": " "},
        {"campaign_name": "\0"},
        {"campaign_name": "x", "status": "?"},
    )
    for body in bad:
        error(client.post(CAMPAIGNS, json=body))


def test_click_implies_open_and_sent_with_first_times(
    client: httpx.Client, db: Database, tenant: Tenant
) -> None:
    upsert(client, [{"email": f"m{i}@example.com"} for i in range(4)])
    ids = {email: int(m["id"]) for email, m in all_members(client).items()}
    campaign = make_campaign(client)
    events = [
        {"email": "m0@example.com", "event": "click", "time": 300},
        {"email": "M1@example.com", "event": "open", "time": "1970-01-01 08:03:20"},  # 200
        {"email": "m2@example.com", "event": "sent", "time": 100},
        {"member_id": str(ids["m3@example.com"]), "event": "sent", "time": 100},
        {"member_id": ids["m3@example.com"], "event": "click", "time": 500},
        {"member_id": ids["m3@example.com"], "event": "open", "time": 400},
    ]
    result = ok(client.post(f"{CAMPAIGNS}/{campaign}/events", json={"events": events}))
    assert result["result"] == {"recorded": 6, "members": 4, "errors": []}
    rows = activity(db, tenant, campaign)
    assert rows == {
        ids["m0@example.com"]: (300, 300, 300),
        ids["m1@example.com"]: (200, 200, None),
        ids["m2@example.com"]: (100, None, None),
        ids["m3@example.com"]: (100, 400, 500),
    }
    # Later events never move a first time forward; earlier ones move it back.
    later = [
        {"email": "m0@example.com", "event": "open", "time": 900},
        {"email": "m1@example.com", "event": "sent", "time": 50},
        {"email": "m2@example.com", "event": "click", "time": 700},
    ]
    ok(client.post(f"{CAMPAIGNS}/{campaign}/events", json={"events": later}))
    rows = activity(db, tenant, campaign)
    assert rows[ids["m0@example.com"]] == (300, 300, 300)
    assert rows[ids["m1@example.com"]] == (50, 200, None)
    assert rows[ids["m2@example.com"]] == (100, 700, 700)
    stats = ok(client.get(f"{CAMPAIGNS}/{campaign}"))["result"]["stats"]
    assert stats == {"sent": 4, "opened": 4, "clicked": 3}


def test_time_defaults_to_now(client: httpx.Client, db: Database, tenant: Tenant) -> None:
    upsert(client, [{"email": "a@example.com"}])
    campaign = make_campaign(client)
    before = int(datetime.now(UTC8).timestamp())
    ok(
        client.post(
            f"{CAMPAIGNS}/{campaign}/events",
            json={"events": [{"email": "a@example.com", "event": "open"}]},
        )
    )
    ((sent, opened, clicked),) = activity(db, tenant, campaign).values()
    assert before - 1 <= sent == opened <= before + 5 and clicked is None


BAD_EVENTS: list[tuple[Any, str]] = [
    ({"email": "nobody@example.com", "event": "open"}, "no such member"),
    ({"member_id": 999999, "event": "open"}, "no such member"),
    ({"email": "a@example.com", "event": "bounce"}, "event must be one of"),
    ({"event": "open"}, "either email or member_id"),
    ({"email": "a@example.com", "member_id": 1, "event": "open"}, "either email or member_id"),
    ({"email": "a@example.com", "event": "open", "time": "yesterday"}, "time must be"),
    ({"email": "a@example.com", "event": "open", "time": -5}, "between 0 and"),
    ({"email": "a@example.com", "event": "open", "time": 2**70}, "between 0 and"),
    ({"member_id": 2**70, "event": "open"}, "member_id"),
    ({"member_id": str(2**70), "event": "open"}, "member_id"),
    ({"member_id": True, "event": "open"}, "member_id"),
    ([1, 2], "must be an object"),
]


def test_bad_events_are_reported_and_good_ones_recorded(
    client: httpx.Client, db: Database, tenant: Tenant
) -> None:
    upsert(client, [{"email": "a@example.com"}])
    campaign = make_campaign(client)
    events = [event for event, _ in BAD_EVENTS] + [{"email": "a@example.com", "event": "sent"}]
    result = ok(client.post(f"{CAMPAIGNS}/{campaign}/events", json={"events": events}))["result"]
    assert result["recorded"] == 1
    assert [e["index"] for e in result["errors"]] == list(range(len(BAD_EVENTS)))
    for found, (event, reason) in zip(result["errors"], BAD_EVENTS, strict=True):
        assert reason in found["message"], (event, found)
    assert len(activity(db, tenant, campaign)) == 1


@pytest.mark.parametrize(
    ("body", "path"),
    [({}, "[events]"), ({"events": []}, "[events]"), ({"events": [{}] * 10_001}, "[events]")],
)
def test_event_envelope(client: httpx.Client, body: dict, path: str) -> None:
    campaign = make_campaign(client)
    assert error(client.post(f"{CAMPAIGNS}/{campaign}/events", json=body)).startswith(path)


def test_events_need_a_sent_campaign_and_its_list(
    client: httpx.Client, db: Database, tenant: Tenant
) -> None:
    other_list = add_list(db, tenant.id)
    upsert(client, [{"email": "a@example.com"}])
    upsert(client, [{"email": "b@example.com"}], list_id=other_list)
    draft = make_campaign(client, "draft")
    events = {"events": [{"email": "a@example.com", "event": "sent"}]}
    assert "draft" in error(client.post(f"{CAMPAIGNS}/{draft}/events", json=events))
    on_other = make_campaign(client, list_id=other_list)
    both = {
        "events": [
            {"email": "a@example.com", "event": "sent"},
            {"email": "b@example.com", "event": "sent"},
        ]
    }
    result = ok(client.post(f"{CAMPAIGNS}/{on_other}/events", json=both))["result"]
    assert result["recorded"] == 1 and [e["index"] for e in result["errors"]] == [0]


def test_ten_thousand_events_in_one_call(
    client: httpx.Client, db: Database, tenant: Tenant
) -> None:
    upsert(client, [{"email": f"m{i}@example.com"} for i in range(1000)])
    campaign = make_campaign(client)
    kinds = ("sent", "open", "click", "open", "sent")
    events = [
        {"email": f"m{i % 1000}@example.com", "event": kinds[(i // 1000) % 5], "time": 1000 + i}
        for i in range(10_000)
    ]
    result = ok(client.post(f"{CAMPAIGNS}/{campaign}/events", json={"events": events}))["result"]
    assert result["recorded"] == 10_000 and result["members"] == 1000
    stats = ok(client.get(f"{CAMPAIGNS}/{campaign}"))["result"]["stats"]
    assert stats == {"sent": 1000, "opened": 1000, "clicked": 1000}


def test_other_tenants_campaigns_are_not_found(
    client: httpx.Client, server: AppServer, db: Database
) -> None:
    other = make_tenant(db, "other")
    with server.client(auth=other.auth) as theirs:
        upsert(theirs, [{"email": "a@example.com"}])
        campaign = make_campaign(theirs)
    upsert(client, [{"email": "a@example.com"}])
    events = {"events": [{"email": "a@example.com", "event": "click"}]}
    for answer in (
        client.get(f"{CAMPAIGNS}/{campaign}"),
        client.put(f"{CAMPAIGNS}/{campaign}", json={"status": "completed"}),
        client.post(f"{CAMPAIGNS}/{campaign}/events", json=events),
        client.delete(f"{CAMPAIGNS}/{campaign}"),
        client.get(f"{CAMPAIGNS}/nope"),
        client.delete(f"{CAMPAIGNS}/nope"),
    ):
        error(answer, 404, 30036)
    assert ok(client.get(CAMPAIGNS))["total"] == 0
    with server.client(auth=other.auth) as theirs:
        assert ok(theirs.get(f"{CAMPAIGNS}/{campaign}"))["result"]["stats"]["clicked"] == 0


def test_delete_takes_the_activity_and_is_refused_while_a_segment_tests_it(
    client: httpx.Client, db: Database, tenant: Tenant
) -> None:
    upsert(client, [{"email": "a@example.com"}])
    tested, spare = make_campaign(client), make_campaign(client)
    events = {"events": [{"email": "a@example.com", "event": "click"}]}
    for campaign in (tested, spare):
        ok(client.post(f"{CAMPAIGNS}/{campaign}/events", json=events))
    item = {"field_name": "campaign", "op": "==", "value": "click", "campaign_id": tested}
    segment = {
        "segment_name": "clickers",
        "type": 1,
        "condition": {"relation": "and", "items": [item]},
    }
    ok(client.post("/v1/marketing/lists/segments", json=segment))
    message = error(client.delete(f"{CAMPAIGNS}/{tested}"))
    assert message == "[campaign_id]:campaign Spring sale is used by segments: clickers"
    assert ok(client.delete(f"{CAMPAIGNS}/{spare}")) == {"count": 1}
    error(client.get(f"{CAMPAIGNS}/{spare}"), 404, 30036)
    error(client.delete(f"{CAMPAIGNS}/{spare}"), 404, 30036)
    assert activity(db, tenant, spare) == {} and len(activity(db, tenant, tested)) == 1
