"""A daily refresh cut by SIGKILL and resumed by another worker, shared by the tests on the
system of record and on the two-shard cluster: the members whose Joined date runs around
today, the worker processes, and the kill-and-resume scenario itself."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import sqlalchemy as sa

from segmentd import clock
from segmentd.domain.values import EPOCH
from segmentd.storage import schema
from segmentd.storage.db import Database
from segmentd.storage.tenants import default_list_id
from tests.conftest import wait_until
from tests.jobs.test_daily_refresh import (
    ZONE,
    assert_counted,
    assert_exact,
    list_contacts,
    refresh_rows,
)
from tests.support.factories import held

ROOT = Path(__file__).resolve().parents[2]
# Small chunks and a short lease: the refresh is cut mid-way and its lease soon free again.
WORKER_ENV = {
    "SEGMENTD_BUILD_CHUNK_SIZE": "100",
    "SEGMENTD_LEASE_SECONDS": "2",
    "SEGMENTD_WORKER_POLL_SECONDS": "0.05",
    "SEGMENTD_SECRET_KEY": "refresh-crash-test-secret",
}
# The worker that resumes takes bigger chunks: only the cut needs small ones, and the cursor
# is a member id, so a pass resumed with another chunk size still takes every member once.
RESUMING_ENV = {"SEGMENTD_BUILD_CHUNK_SIZE": "2000"}


def start_worker(
    code: str, argv: Sequence[str], env: dict[str, str], log_path: Path, children: list[Any]
) -> subprocess.Popen[bytes]:
    """``python -c code *argv`` with ``WORKER_ENV`` and ``env``, its output in ``log_path``."""
    environment = {**os.environ, "PYTHONPATH": f"{ROOT / 'src'}:{ROOT}", **WORKER_ENV, **env}
    with log_path.open("ab") as log:
        process = subprocess.Popen(
            [sys.executable, "-c", code, *argv], env=environment, stdout=log, stderr=log, cwd=ROOT
        )
    children.append(process)
    return process


def seed_joined(db: Database, tenant_id: int, slot: int, count: int) -> None:
    """``count`` members whose Joined (the date field in ``slot``) runs from 8 days before
    today to 3 days after."""
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
            for i in range(count)
        ]
        conn.execute(sa.insert(schema.members), rows)


def job_state(db: Database) -> tuple[str, int]:
    rows = refresh_rows(db)
    return (rows[0].state, int(rows[0].cursor)) if rows else ("none", 0)


def killed_then_resumed(
    db: Database,
    tenant_id: int,
    segment_ids: Sequence[str],
    start: Callable[[dict[str, str]], subprocess.Popen[bytes]],
    log_path: Path,
    members: int,
    timeout: float,
) -> None:
    """Start a worker, SIGKILL it once the refresh committed a chunk (every count exact
    then), start another: the refresh resumes (two attempts, every member processed once)
    and ends with exactly the day's members. ``start`` is given environment variables to
    add to the worker's."""
    first = start({})
    wait_until(lambda: job_state(db)[1] > 0, timeout=timeout, interval=0.005)
    os.kill(first.pid, signal.SIGKILL)
    first.wait(timeout=10)

    state, cursor = job_state(db)
    assert state == "running" and cursor > 0, "the refresh was not cut mid-way"
    for segment_id in segment_ids:  # half-way, every count is exact
        assert_counted(db, tenant_id, segment_id, len(held(db, segment_id)))

    second = start(RESUMING_ENV)
    wait_until(lambda: job_state(db)[0] == "done", timeout=2 * timeout, interval=0.1)
    second.send_signal(signal.SIGTERM)
    assert second.wait(timeout=20) == 0, log_path.read_text()

    (job,) = refresh_rows(db)
    assert (job.attempts, job.processed) == (2, members)  # resumed, not restarted
    contacts = list_contacts(db, tenant_id, job.list_id)
    for segment_id in segment_ids:
        assert_exact(db, tenant_id, segment_id, job.day, contacts)
