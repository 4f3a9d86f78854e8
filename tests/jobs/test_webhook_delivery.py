"""Webhook deliveries end to end: real membership changes through the API, batches cut from the
change feed, posted to a real HTTP receiver on 127.0.0.1 (allow-listed), each signature
verified with ``standardwebhooks``. The worker is driven step by step here (no worker thread),
and retry times move with the project's clock (``segmentd.clock``), not with sleeps."""

from __future__ import annotations

import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest
import sqlalchemy as sa

from segmentd.jobs.build_worker import run_pending
from segmentd.jobs.webhook_backoff import RETRY_WINDOW
from segmentd.jobs.webhook_delivery import claim_delivery, deliver_one, post, record
from segmentd.jobs.webhook_dispatch import dispatch
from segmentd.settings import Settings
from segmentd.storage.db import Database
from segmentd.storage.schema import webhook_deliveries
from tests.conftest import AppServer, Tenant, test_settings, wait_until
from tests.support.ingest_helpers import SEGMENTS, ok, upsert
from tests.support.moving_clock import MovingClock, moving_clock
from tests.support.webhook_receiver import Receiver

WEBHOOKS = "/v1/webhooks"
OWNER = "test-worker"


@dataclass
class World:
    db: Database
    settings: Settings
    http: httpx.Client
    receiver: Receiver
    clock: MovingClock
    segment_id: str = ""

    def subscribe(self, **extra: Any) -> tuple[int, str]:
        body = {"url": self.receiver.url, "segment_id": self.segment_id, **extra}
        result = ok(self.http.post(WEBHOOKS, json=body))["result"]
        return int(result["webhook_id"]), str(result["secret"])

    def join(self, *names: str) -> None:
        """Members who match the segment (their name holds "in")."""
        upsert(self.http, [{"email": f"{n}@example.com", "name": f"{n} in"} for n in names])

    def leave(self, *names: str) -> None:
        upsert(self.http, [{"email": f"{n}@example.com", "name": f"{n} out"} for n in names])

    def deliveries(self) -> list[Any]:
        with self.db.read() as conn:
            query = sa.select(webhook_deliveries).order_by(webhook_deliveries.c.id)
            return list(conn.execute(query).all())

    def pump(self, settings: Settings | None = None) -> int:
        """Cut and post until nothing is due (the clock unmoved); how many posts arrived."""
        before = len(self.receiver.received)
        while dispatch(self.db, self.settings) or deliver_one(
            self.db, settings or self.settings, OWNER
        ):
            pass
        return len(self.receiver.received) - before

    def until_due(self) -> None:
        """Move the clock to the next retry of the queued delivery."""
        (due,) = [row.next_attempt_at for row in self.deliveries() if row.state == "queued"]
        # A millisecond past it: a datetime keeps microseconds, the stored time more digits.
        self.clock.set(datetime.fromtimestamp(max(due, self.clock()) + 0.001, UTC))


@pytest.fixture
def world(db: Database, db_url: str, tenant: Tenant) -> Iterator[World]:
    settings = test_settings(
        db_url, webhook_allowed_hosts="127.0.0.1", webhook_timeout_seconds=5, lease_seconds=5
    )
    with (
        AppServer(settings, start_worker=False) as app,
        app.client(auth=tenant.auth) as http,
        Receiver() as receiver,
        moving_clock(datetime.now(UTC)) as clock,
    ):
        yield World(db, settings, http, receiver, clock, insiders(http, db, settings))


def insiders(http: httpx.Client, db: Database, settings: Settings) -> str:
    """A built segment of the members whose name holds " in" (``World.join``)."""
    body = {
        "segment_name": "Insiders",
        "type": 0,
        "condition": {
            "relation": "or",
            "items": [{"field_name": "Name", "op": "contain", "value": " in"}],
        },
    }
    segment_id: str = ok(http.post(SEGMENTS, json=body))["result"]["segment_id"]
    run_pending(db, settings)
    return segment_id


def changes_of(world: World, secret: str) -> list[tuple[int, str, int]]:
    """(seq, change, member_id) of every delivery received, each signature verified."""
    found = []
    for request in world.receiver.received:
        body = request.verified(secret)
        assert body["type"] == "segment.membership.changed"
        found += [(c["seq"], c["change"], c["member_id"]) for c in body["data"]["changes"]]
    return found


def test_batches_are_signed_cut_in_order_and_one_at_a_time(world: World) -> None:
    world.settings = world.settings.model_copy(update={"webhook_batch_size": 2})
    webhook_id, secret = world.subscribe()
    assert secret.startswith("whsec_")
    world.join("a", "b", "c")
    world.leave("a", "b")
    assert dispatch(world.db, world.settings) == 1
    assert dispatch(world.db, world.settings) == 0  # the next batch waits for this one
    world.pump()
    received = world.receiver.received
    assert len(received) == 3  # 5 changes in batches of at most 2
    assert [len(r.json()["data"]["changes"]) for r in received] == [2, 2, 1]
    changes = changes_of(world, secret)
    seqs = [seq for seq, _change, _member in changes]
    assert seqs == sorted(seqs) and len(set(seqs)) == 5
    assert [change for _seq, change, _member in changes] == ["entered"] * 3 + ["left"] * 2
    assert len({r.message_id for r in received}) == 3
    assert all(r.json()["data"]["subscription_id"] == webhook_id for r in received)
    assert all(r.headers["content-type"] == "application/json" for r in received)
    assert [row.state for row in world.deliveries()] == ["done"] * 3


def test_a_subscription_gets_only_the_events_it_asked_for(world: World) -> None:
    _id, secret = world.subscribe(events=["left"])
    world.join("a", "b")
    world.leave("b")
    world.pump()
    assert [change for _seq, change, _member in changes_of(world, secret)] == ["left"]


def test_a_failed_delivery_is_retried_with_backoff_under_the_same_id(world: World) -> None:
    _id, secret = world.subscribe()
    world.join("a")
    world.receiver.answers.extend([500, 500])
    started = world.clock()
    world.pump()
    assert len(world.receiver.received) == 1
    (row,) = world.deliveries()
    assert row.state == "queued" and row.last_status == 500 and row.tries == 1
    assert started + 2.5 <= row.next_attempt_at <= world.clock() + 5  # 5 s, jittered
    assert world.pump() == 0  # not due yet: nothing posted
    world.until_due()
    world.pump()
    (row,) = world.deliveries()
    assert row.tries == 2 and 5 <= row.next_attempt_at - world.clock() <= 10
    world.until_due()
    world.pump()
    (row,) = world.deliveries()
    assert row.state == "done" and row.tries == 3 and row.last_status == 200
    received = world.receiver.received
    assert len(received) == 3
    assert len({r.message_id for r in received}) == 1  # receivers can deduplicate
    assert len({r.body for r in received}) == 1
    assert all(r.verified(secret) for r in received)


def test_a_receiver_down_for_the_day_gets_the_batch_parked_then_replayed(world: World) -> None:
    webhook_id, secret = world.subscribe()
    world.join("a")
    world.receiver.default = 503
    started = world.clock()
    world.pump()
    while world.deliveries()[0].state == "queued":
        world.until_due()
        world.pump()
    (parked,) = world.deliveries()
    assert parked.state == "failed" and parked.error == "answered 503"
    assert world.clock() - started >= RETRY_WINDOW
    tries = len(world.receiver.received)
    assert 20 <= tries <= 60 and parked.tries == tries
    # Parked: later changes wait behind it (order is kept), and the API lists it.
    world.join("b")
    assert dispatch(world.db, world.settings) == 0
    failed = ok(world.http.get(f"{WEBHOOKS}/{webhook_id}/deliveries", params={"state": "failed"}))
    assert [d["delivery_id"] for d in failed["result"]] == [parked.id]
    assert failed["result"][0]["message_id"] == parked.message_id
    # The receiver is back: a replay posts the same message, then the next batch follows.
    world.receiver.default = 200
    replay = f"{WEBHOOKS}/{webhook_id}/deliveries/{parked.id}/replay"
    assert ok(world.http.post(replay))["result"]["state"] == "queued"
    assert world.http.post(replay).status_code == 409  # queued, not parked
    world.pump()
    replayed, following = world.receiver.received[tries:]
    assert replayed.message_id == parked.message_id
    assert replayed.body == world.receiver.received[0].body
    assert following.message_id != parked.message_id
    assert [row.state for row in world.deliveries()] == ["done", "done"]
    changes = [(change, member) for _seq, change, member in changes_of(world, secret)]
    assert changes[-1][0] == "entered" and changes[-1][1] != changes[0][1]


def test_a_receiver_back_within_the_window_gets_the_batch(world: World) -> None:
    _id, secret = world.subscribe()
    world.join("a")
    world.receiver.default = 503
    started = world.clock()
    world.pump()
    while world.clock() - started < RETRY_WINDOW - 2 * 3600:
        world.until_due()
        world.pump()
    world.receiver.default = 200
    while world.deliveries()[0].state == "queued":
        world.until_due()
        world.pump()
    assert world.deliveries()[0].state == "done"
    assert world.receiver.received[-1].verified(secret)


def test_redirects_are_not_followed(world: World) -> None:
    world.subscribe()
    world.join("a")
    world.receiver.answers.append(302)
    world.pump()
    assert [r.path for r in world.receiver.received] == ["/hook"]  # never /elsewhere
    (row,) = world.deliveries()
    assert row.state == "queued" and row.last_status == 302
    assert "redirects are not followed" in row.error


def test_a_private_address_is_refused_at_delivery(world: World) -> None:
    world.subscribe()
    world.join("a")
    strict = world.settings.model_copy(update={"webhook_allowed_hosts": ""})
    world.pump(strict)
    assert world.receiver.received == []
    (row,) = world.deliveries()
    assert row.state == "queued" and row.last_status is None
    assert "127.0.0.1" in row.error and "not a public address" in row.error


def test_a_worker_lost_mid_delivery_is_redelivered_under_the_same_id(world: World) -> None:
    _id, secret = world.subscribe()
    world.join("a")
    assert dispatch(world.db, world.settings) == 1
    # A lease of 2.3 s (its time plus the post's timeout): a loaded CI machine took longer
    # than the 0.5 s it was to post and ask again.
    short = world.settings.model_copy(update={"lease_seconds": 2.0, "webhook_timeout_seconds": 0.3})
    lost = claim_delivery(world.db, short, "lost-worker")
    assert lost is not None
    post(lost, short)  # posted, then the worker dies before recording the outcome
    assert deliver_one(world.db, world.settings, OWNER) is False  # its lease still holds
    time.sleep(2.6)  # the lease (real time) runs out
    assert deliver_one(world.db, world.settings, OWNER)
    first, second = world.receiver.received
    assert first.message_id == second.message_id and first.body == second.body
    assert second.verified(secret)
    assert record(world.db, lost, post(lost, short)) is None  # the lost worker holds nothing
    (row,) = world.deliveries()
    assert row.state == "done" and row.attempts == 2


def test_the_server_delivers_by_itself(db: Database, db_url: str, tenant: Tenant) -> None:
    settings = test_settings(db_url, webhook_allowed_hosts="127.0.0.1")
    with (
        AppServer(settings) as app,
        app.client(auth=tenant.auth) as http,
        Receiver() as receiver,
    ):
        secret = ok(http.post(WEBHOOKS, json={"url": receiver.url}))["result"]["secret"]
        body = {
            "segment_name": "All",
            "type": 0,
            "condition": {
                "relation": "or",
                "items": [{"field_name": "Email", "op": "contain", "value": "@"}],
            },
        }
        ok(http.post(SEGMENTS, json=body))
        upsert(http, [{"email": "z@example.com"}])
        wait_until(lambda: receiver.received)
        changes = receiver.received[0].verified(secret)["data"]["changes"]
        assert changes[0]["change"] == "entered"
