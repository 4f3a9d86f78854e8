"""The lease queue (``jobs.queue``) on both databases and both job tables it serves."""

from __future__ import annotations

import signal
import subprocess
import sys
import threading
import time
from collections import Counter
from typing import Any

import pytest
import sqlalchemy as sa

from segmentd.jobs.queue import Leased, LeaseQueue, new_worker_id, owner_is_gone
from segmentd.storage.db import Database
from segmentd.storage.schema import build_jobs, import_jobs
from segmentd.timefmt import now
from tests.conftest import Tenant

MAX_ATTEMPTS = 3


@pytest.fixture(params=["build_jobs", "import_jobs"])
def queue(request: pytest.FixtureRequest) -> LeaseQueue:
    table = {"build_jobs": build_jobs, "import_jobs": import_jobs}[request.param]
    return LeaseQueue(table, MAX_ATTEMPTS)


def add_jobs(db: Database, queue: LeaseQueue, tenant: Tenant, count: int) -> list[int]:
    """``count`` queued jobs, in claim order."""
    with db.write() as conn:
        return [
            int(
                conn.execute(
                    sa.insert(queue.table).values(**_row(queue, tenant, i))
                ).inserted_primary_key[0]
            )
            for i in range(count)
        ]


def _row(queue: LeaseQueue, tenant: Tenant, i: int) -> dict[str, Any]:
    common = {"tenant_id": tenant.id, "state": "queued", "attempts": 0}
    stamps = {"created_at": now(), "updated_at": now()}
    if queue.table is build_jobs:
        return {**common, **stamps, "segment_id": f"seg{i}", "generation": 1}
    own = {
        "kind": "members",
        "origin": "api",
        "options": "{}",
        "path": f"/tmp/file{i}.csv",
        "file_size": 1,
        "file_digest": "0" * 64,
    }
    return {**common, **stamps, **own}


def claim(db: Database, queue: LeaseQueue, owner: str, seconds: float = 60) -> Leased | None:
    with db.write() as conn:
        return queue.claim_next(conn, owner, time.time() + seconds)


def job(db: Database, queue: LeaseQueue, job_id: int) -> Any:
    with db.read() as conn:
        return conn.execute(sa.select(queue.table).where(queue.table.c.id == job_id)).one()


def test_workers_in_threads_never_hold_one_job(
    db: Database, tenant: Tenant, queue: LeaseQueue
) -> None:
    ids = add_jobs(db, queue, tenant, 40)
    taken: list[tuple[str, int]] = []
    lock = threading.Lock()

    def work() -> None:
        owner = new_worker_id()
        while (leased := claim(db, queue, owner)) is not None:
            with lock:
                taken.append((owner, int(leased.row.id)))
            with db.write() as conn:
                assert queue.finish(conn, int(leased.row.id), "done", owner=owner)

    threads = [threading.Thread(target=work) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    claims = Counter(job_id for _owner, job_id in taken)
    assert sorted(claims) == ids and set(claims.values()) == {1}
    assert {job(db, queue, job_id).state for job_id in ids} == {"done"}


def test_a_claim_skips_the_job_another_transaction_is_claiming(
    db: Database, tenant: Tenant, queue: LeaseQueue
) -> None:
    if db.is_sqlite:
        pytest.skip("SQLite has one writer: a second claim waits for the first to commit")
    first, second = add_jobs(db, queue, tenant, 2)
    with db.write() as conn:
        mine = queue.claim_next(conn, "a:1:x", time.time() + 60)
        assert mine is not None and mine.row.id == first
        # The first claim is not committed yet: its row is locked, the other worker passes it.
        theirs = claim(db, queue, "b:2:y")
        assert theirs is not None and theirs.row.id == second


def test_an_expired_lease_is_reclaimed_and_the_old_owner_loses_it(
    db: Database, tenant: Tenant, queue: LeaseQueue
) -> None:
    (job_id,) = add_jobs(db, queue, tenant, 1)
    assert claim(db, queue, "a:1:x", seconds=60) is not None
    assert claim(db, queue, "b:2:y") is None  # the lease is live
    expire_lease(db, queue, job_id)
    reclaimed = claim(db, queue, "b:2:y")
    assert reclaimed is not None and (reclaimed.row.id, reclaimed.attempt) == (job_id, 2)
    with db.write() as conn:
        assert not queue.renew(conn, job_id, "a:1:x", 60)
    row = job(db, queue, job_id)
    assert (row.state, row.lease_owner, row.attempts) == ("running", "b:2:y", 2)


def expire_lease(db: Database, queue: LeaseQueue, job_id: int) -> None:
    """Let a lease run out (set, not slept: on a busy machine a short lease runs out early)."""
    with db.write() as conn:
        conn.execute(
            sa.update(queue.table)
            .where(queue.table.c.id == job_id)
            .values(lease_expires_at=time.time() - 1)
        )


def test_renewing_keeps_the_lease(db: Database, tenant: Tenant, queue: LeaseQueue) -> None:
    (job_id,) = add_jobs(db, queue, tenant, 1)
    assert claim(db, queue, "a:1:x", seconds=0.2) is not None
    with db.write() as conn:
        assert queue.renew(conn, job_id, "a:1:x", 60)
    time.sleep(0.3)
    assert claim(db, queue, "b:2:y") is None
    assert job(db, queue, job_id).lease_owner == "a:1:x"


def test_attempts_exhaust_and_the_job_fails(
    db: Database, tenant: Tenant, queue: LeaseQueue
) -> None:
    (job_id,) = add_jobs(db, queue, tenant, 1)
    for attempt in range(1, MAX_ATTEMPTS + 1):
        leased = claim(db, queue, f"w:{attempt}:x")
        assert leased is not None and leased.attempt == attempt
        assert not queue.exhausted(leased.attempt)
        with db.write() as conn:  # an error: any worker may retry at once
            queue.abandon(conn, job_id, f"w:{attempt}:x", f"boom {attempt}")
    last = claim(db, queue, "w:last:x")
    assert last is not None and queue.exhausted(last.attempt)
    assert last.row.error == f"boom {MAX_ATTEMPTS}"
    with db.write() as conn:
        assert queue.finish(conn, job_id, "failed", owner="w:last:x", error="gave up")
    assert claim(db, queue, "w:after:x") is None
    row = job(db, queue, job_id)
    assert (row.state, row.error, row.attempts) == ("failed", "gave up", MAX_ATTEMPTS + 1)
    assert (row.lease_owner, row.lease_expires_at) == (None, None)


def test_a_released_job_goes_back_without_costing_an_attempt(
    db: Database, tenant: Tenant, queue: LeaseQueue
) -> None:
    first, _second = add_jobs(db, queue, tenant, 2)
    leased = claim(db, queue, "a:1:x")
    assert leased is not None and leased.row.id == first
    with db.write() as conn:
        queue.release(conn, first, "a:1:x")
        assert not queue.renew(conn, first, "a:1:x", 60)
    row = job(db, queue, first)
    assert (row.state, row.lease_owner, row.attempts) == ("queued", None, 0)
    again = claim(db, queue, "b:2:y")
    assert again is not None and (again.row.id, again.attempt) == (first, 1)  # oldest first


def test_only_the_holder_finishes_a_job(db: Database, tenant: Tenant, queue: LeaseQueue) -> None:
    (job_id,) = add_jobs(db, queue, tenant, 1)
    assert claim(db, queue, "a:1:x") is not None
    with db.write() as conn:
        assert not queue.finish(conn, job_id, "done", owner="b:2:y")
        assert queue.finish(conn, job_id, "done", owner="a:1:x")
    assert job(db, queue, job_id).state == "done"


def test_a_job_held_by_a_live_owner_is_not_taken_over(
    db: Database, tenant: Tenant, queue: LeaseQueue
) -> None:
    (job_id,) = add_jobs(db, queue, tenant, 1)
    me = new_worker_id()  # this process: alive
    assert claim(db, queue, me) is not None
    with db.write() as conn:
        assert queue.claim_held_or_free(conn, job_id, "b:2:y", time.time() + 60) is None
        queue.finish(conn, job_id, "done", owner=me)
        assert queue.claim_held_or_free(conn, job_id, "b:2:y", time.time() + 60) is None


CLAIM_AND_DIE = """
import os, signal, sys, time
from segmentd.jobs.queue import LeaseQueue, new_worker_id
from segmentd.storage.db import Database
from segmentd.storage.schema import build_jobs, import_jobs

db = Database(sys.argv[1])
queue = LeaseQueue({"build_jobs": build_jobs, "import_jobs": import_jobs}[sys.argv[2]], 3)
with db.write() as conn:
    leased = queue.claim_next(conn, new_worker_id(), time.time() + float(sys.argv[3]))
print(leased.row.id, flush=True)
os.kill(os.getpid(), signal.SIGKILL)
"""


def test_a_worker_killed_mid_lease_leaves_a_job_that_is_reclaimed(
    db: Database, db_url: str, tenant: Tenant, queue: LeaseQueue
) -> None:
    first, second = add_jobs(db, queue, tenant, 2)
    claimed = []
    for lease_seconds in ("600", "0.5"):
        died = subprocess.run(
            [sys.executable, "-c", CLAIM_AND_DIE, db_url, queue.table.name, lease_seconds],
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert died.returncode == -signal.SIGKILL, died.stderr
        claimed.append(int(died.stdout))
    assert claimed == [first, second]
    dead_owner = job(db, queue, first).lease_owner
    assert owner_is_gone(dead_owner) and not owner_is_gone(new_worker_id())
    # The short lease runs out: the next claim takes that job back.
    time.sleep(0.6)
    reclaimed = claim(db, queue, "b:2:y")
    assert reclaimed is not None and (reclaimed.row.id, reclaimed.attempt) == (second, 2)
    # The long lease is live, but its owner process on this host is gone: the job is free.
    assert claim(db, queue, "c:3:z") is None
    with db.write() as conn:
        taken = queue.claim_held_or_free(conn, first, "c:3:z", time.time() + 60)
    assert taken is not None and taken.attempt == 2
    assert job(db, queue, first).lease_owner == "c:3:z"
