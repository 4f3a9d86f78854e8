"""SIGKILL a worker in the middle of a daily refresh, start another: the refresh resumes from
its last committed chunk and ends with exactly the day's members."""

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
from segmentd.domain.fields import FieldDef, FieldType
from segmentd.domain.values import EPOCH
from segmentd.jobs.build_worker import run_pending
from segmentd.storage import schema
from segmentd.storage.db import Database
from segmentd.storage.tenants import default_list_id
from tests.conftest import make_tenant, wait_until
from tests.conftest import test_settings as settings_for
from tests.jobs.test_daily_refresh import (
    ZONE,
    add_stored_segment,
    assert_counted,
    assert_exact,
    condition_of,
    refresh_rows,
)
from tests.support.day_leaf import recent_leaf, stored
from tests.support.factories import add_field, held
from tests.support.moving_clock import moving_clock

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[2]
MEMBERS = 20_000
# ``segmentd worker`` with the tests' time-dependent leaf registered.
WORKER = """
import sys
from segmentd.jobs.build_worker import run_forever
from segmentd.settings import Settings
from tests.support.day_leaf import recent_leaf

with recent_leaf():
    run_forever(Settings(database_url=sys.argv[1]))
"""


@pytest.fixture
def children() -> Iterator[list[subprocess.Popen[bytes]]]:
    """Every process the test starts; all are killed at teardown, whatever happened."""
    made: list[subprocess.Popen[bytes]] = []
    yield made
    for process in made:
        if process.poll() is None:
            process.kill()
            process.wait(timeout=10)


def start_worker(db_url: str, log_path: Path, children: list[Any]) -> subprocess.Popen[bytes]:
    env = {
        **os.environ,
        "PYTHONPATH": str(ROOT),
        "SEGMENTD_BUILD_CHUNK_SIZE": "100",
        "SEGMENTD_LEASE_SECONDS": "2",
        "SEGMENTD_WORKER_POLL_SECONDS": "0.05",
        "SEGMENTD_SECRET_KEY": "refresh-crash-test-secret",
    }
    with log_path.open("ab") as log:
        process = subprocess.Popen(
            [sys.executable, "-c", WORKER, db_url], env=env, stdout=log, stderr=log, cwd=ROOT
        )
    children.append(process)
    return process


def seed(db: Database, tenant_id: int, field: FieldDef) -> None:
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
                f"n{field.slot}": float(first + i % 12 - 8),
            }
            for i in range(MEMBERS)
        ]
        conn.execute(sa.insert(schema.members), rows)


def job_state(db: Database) -> tuple[str, int]:
    rows = refresh_rows(db)
    return (rows[0].state, int(rows[0].cursor)) if rows else ("none", 0)


def test_sigkill_mid_refresh_then_restart_ends_with_exactly_the_days_members(
    db_url: str, tmp_path: Path, children: list[subprocess.Popen[bytes]]
) -> None:
    db = Database(db_url)
    db.migrate()
    log_path = tmp_path / "worker.log"
    try:
        with recent_leaf():
            tenant = make_tenant(db)
            field = add_field(db, tenant.id, "Joined", FieldType.DATE, format="MM/DD/YYYY")
            seed(db, tenant.id, field)
            # Built yesterday: the worker finds them due when it starts.
            with moving_clock(datetime.now(ZONE) - timedelta(days=1)):
                ids = [
                    add_stored_segment(db, tenant.id, condition_of(stored(field, days)))
                    for days in (0, 2, 5)
                ]
                run_pending(db, settings_for(db_url, build_chunk_size=5_000))

            first = start_worker(db_url, log_path, children)
            wait_until(lambda: job_state(db)[1] > 0, timeout=60, interval=0.005)
            os.kill(first.pid, signal.SIGKILL)
            first.wait(timeout=10)

            state, cursor = job_state(db)
            assert state == "running" and cursor > 0, "the refresh was not cut mid-way"
            for segment_id in ids:  # half-way, every count is exact
                assert_counted(db, tenant.id, segment_id, len(held(db, segment_id)))

            second = start_worker(db_url, log_path, children)
            wait_until(lambda: job_state(db)[0] == "done", timeout=120, interval=0.1)
            second.send_signal(signal.SIGTERM)
            assert second.wait(timeout=10) == 0, log_path.read_text()

            (job,) = refresh_rows(db)
            assert (job.attempts, job.processed) == (2, MEMBERS)  # resumed, not restarted
            for segment_id in ids:
                assert_exact(db, tenant.id, segment_id, job.day)
            if db.is_sqlite:
                with db.read() as conn:
                    assert conn.exec_driver_sql("PRAGMA integrity_check").scalar_one() == "ok"
    finally:
        db.dispose()
