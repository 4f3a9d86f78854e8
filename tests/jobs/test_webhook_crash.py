"""SIGKILL a ``segmentd worker`` while its webhook delivery is in flight: once its lease runs
out, another worker posts the same batch under the same ``webhook-id`` (at least once)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

import pytest
import sqlalchemy as sa

from segmentd.jobs.webhook_delivery import deliver_one
from segmentd.jobs.webhook_dispatch import dispatch
from segmentd.storage.db import Database
from segmentd.storage.schema import webhook_deliveries
from tests.conftest import AppServer, Tenant, test_settings, wait_until
from tests.jobs.test_webhook_delivery import World, insiders
from tests.support.moving_clock import MovingClock
from tests.support.webhook_receiver import Receiver

pytestmark = pytest.mark.slow


def test_a_worker_killed_mid_post_is_followed_by_the_same_message(
    db: Database, db_url: str, tenant: Tenant, tmp_path: Path
) -> None:
    settings = test_settings(db_url, webhook_allowed_hosts="127.0.0.1")
    with (
        AppServer(settings, start_worker=False) as app,
        app.client(auth=tenant.auth) as http,
        Receiver() as receiver,
    ):
        clock = MovingClock(datetime.now(UTC))  # not installed: nothing here waits for a retry
        world = World(db, settings, http, receiver, clock, insiders(http, db, settings))
        _id, secret = world.subscribe()
        world.join("a", "b")
        assert dispatch(db, settings) == 1
        receiver.hold.set()  # the first post gets no answer while the worker lives
        env = {
            **os.environ,
            "SEGMENTD_SECRET_KEY": settings.secret_key or "",
            "SEGMENTD_WEBHOOK_ALLOWED_HOSTS": "127.0.0.1",
            "SEGMENTD_LEASE_SECONDS": "0.5",
            "SEGMENTD_WEBHOOK_TIMEOUT_SECONDS": "3",
            "SEGMENTD_WORKER_POLL_SECONDS": "0.05",
        }
        command = [sys.executable, "-m", "segmentd", "worker", "--database", db_url]
        with (tmp_path / "worker.log").open("wb") as log:
            worker = subprocess.Popen(command, env=env, stdout=log, stderr=log)
        try:
            wait_until(lambda: receiver.received, timeout=60)
            os.kill(worker.pid, signal.SIGKILL)
            worker.wait(timeout=10)
        finally:
            if worker.poll() is None:
                worker.kill()
                worker.wait(timeout=10)
        receiver.hold.clear()
        receiver.released.set()
        with db.read() as conn:
            (row,) = conn.execute(sa.select(webhook_deliveries)).all()
        assert row.state == "running" and row.delivered_at is None  # the dead worker's claim
        wait_until(lambda: deliver_one(db, settings, "survivor"), timeout=30, interval=0.1)
        first, second = receiver.received
        assert first.message_id == second.message_id and first.body == second.body
        assert [c["change"] for c in second.verified(secret)["data"]["changes"]] == ["entered"] * 2
        with db.read() as conn:
            (row,) = conn.execute(sa.select(webhook_deliveries)).all()
        assert row.state == "done" and row.attempts == 2
