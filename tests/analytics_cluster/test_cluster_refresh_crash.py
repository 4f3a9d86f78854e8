"""SIGKILL a ``segmentd worker`` in the middle of a daily refresh answered on the two-shard
cluster, start another: the refresh resumes from its last committed chunk (the copy synced
again) and ends with exactly the day's members, every count exact half-way."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from segmentd import clock
from segmentd.domain.fields import FieldType
from segmentd.domain.values import EPOCH
from segmentd.jobs.build_worker import run_pending
from segmentd.settings import Settings
from segmentd.storage import schema
from segmentd.storage.db import Database
from segmentd.storage.tenants import default_list_id
from tests.conftest import make_tenant, wait_until
from tests.jobs.test_daily_refresh import ZONE, assert_counted, assert_exact, refresh_rows
from tests.support.factories import add_field, add_segment_row, held
from tests.support.moving_clock import moving_clock
from tests.support.stored_conditions import stored_native

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[2]
MEMBERS = 6_000
WORKER = """
from segmentd.jobs.build_worker import run_forever
from segmentd.settings import Settings

run_forever(Settings())
"""


@pytest.fixture
def children() -> Iterator[list[subprocess.Popen[bytes]]]:
    made: list[subprocess.Popen[bytes]] = []
    yield made
    for process in made:
        if process.poll() is None:
            process.kill()
            process.wait(timeout=10)


def start_worker(settings: Settings, log_path: Path, children: list[Any]) -> Any:
    env = {
        **os.environ,
        "PYTHONPATH": f"{ROOT / 'src'}:{ROOT}",
        "SEGMENTD_DATABASE_URL": settings.database_url,
        "SEGMENTD_ANALYTICS_URL": str(settings.analytics_url),
        "SEGMENTD_BUILD_CHUNK_SIZE": "100",
        "SEGMENTD_LEASE_SECONDS": "2",
        "SEGMENTD_WORKER_POLL_SECONDS": "0.05",
        "SEGMENTD_SECRET_KEY": "refresh-crash-test-secret",
    }
    with log_path.open("ab") as log:
        process = subprocess.Popen(
            [sys.executable, "-c", WORKER], env=env, stdout=log, stderr=log, cwd=ROOT
        )
    children.append(process)
    return process


def seed(db: Database, tenant_id: int, slot: int) -> None:
    """Members whose Joined runs from 8 days before today to 3 days after."""
    first = (clock.today(ZONE) - EPOCH).days
    with db.write() as conn:
        list_id = default_list_id(conn, tenant_id)
        rows = [
            {
                "tenant_id": tenant_id,
                "list_id": list_id,
                "email": f"m{i}@example.com",
                "email_key": f"m{i}@example.com",
                "domain": "example.com",
                "created_at": 0,
                "updated_at": 0,
                f"n{slot}": float(first + i % 12 - 8),
            }
            for i in range(MEMBERS)
        ]
        conn.execute(sa.insert(schema.members), rows)


def job_state(db: Database) -> tuple[str, int]:
    rows = refresh_rows(db)
    return (rows[0].state, int(rows[0].cursor)) if rows else ("none", 0)


def test_sigkill_mid_refresh_on_the_cluster_then_restart_ends_exact(
    settings: Settings, tmp_path: Path, children: list[subprocess.Popen[bytes]]
) -> None:
    db = Database(settings.database_url)
    log_path = tmp_path / "worker.log"
    try:
        tenant = make_tenant(db)
        field = add_field(db, tenant.id, "Joined", FieldType.DATE, format="MM/DD/YYYY")
        seed(db, tenant.id, field.slot)
        # Built yesterday on the system of record: the worker finds them due when it starts.
        with moving_clock(datetime.now(ZONE) - timedelta(days=1)):
            ids = []
            for days in (1, 2, 5):
                native = {"all": [{"kind": "field", "field": "Joined", "op": "in_last",
                                   "amount": days, "unit": "days"}]}  # fmt: skip
                with db.read() as conn:
                    stored = stored_native(conn, tenant.id, native, ZONE)
                ids.append(add_segment_row(db, tenant.id, stored))
            on_sql = settings.model_copy(update={"analytics_url": None, "build_chunk_size": 5_000})
            run_pending(db, on_sql)

        first = start_worker(settings, log_path, children)
        wait_until(lambda: job_state(db)[1] > 0, timeout=120, interval=0.005)
        os.kill(first.pid, signal.SIGKILL)
        first.wait(timeout=10)

        state, cursor = job_state(db)
        assert state == "running" and cursor > 0, "the refresh was not cut mid-way"
        for segment_id in ids:  # half-way, every count is exact
            assert_counted(db, tenant.id, segment_id, len(held(db, segment_id)))

        second = start_worker(settings, log_path, children)
        wait_until(lambda: job_state(db)[0] == "done", timeout=180, interval=0.1)
        second.send_signal(signal.SIGTERM)
        assert second.wait(timeout=20) == 0, log_path.read_text()

        (job,) = refresh_rows(db)
        assert (job.attempts, job.processed) == (2, MEMBERS)  # resumed, not restarted
        for segment_id in ids:
            assert_exact(db, tenant.id, segment_id, job.day)
        assert "answered chunk by chunk on the analytics copy" in log_path.read_text()
    finally:
        db.dispose()
