"""Builds whose chunks outlive the lease, as on a machine so loaded that a chunk takes longer
than ``SEGMENTD_LEASE_SECONDS``: the worker keeps its job, and the build ends exactly once."""

from __future__ import annotations

import sqlite3
import threading
import time
from typing import Any

import pytest

from segmentd.jobs.build_queue import claim_job
from segmentd.jobs.build_runner import run_chunk
from segmentd.jobs.build_steps import Step
from segmentd.jobs.build_worker import Worker, run_job
from segmentd.settings import Settings
from segmentd.storage.db import Database
from segmentd.storage.membership_history import read_changes
from tests.conftest import Tenant, wait_until
from tests.conftest import test_settings as settings_for
from tests.jobs.test_builds import (
    add_catalog,
    add_members,
    add_segment,
    expected_members,
    field_condition,
    finish_job,
    job_rows,
    published_members,
    segment_row,
    start_job,
)
from tests.support.factories import replayed

# Shorter than any chunk of 5,000 members: every chunk outlives its lease.
LEASE_SECONDS = 0.001
CONDITION = field_condition(">=", "45")


@pytest.fixture
def acme(db: Database, tenant: Tenant) -> Tenant:
    add_catalog(db, tenant.id)
    add_members(db, tenant.id, 15_000)  # three chunks
    return tenant


def short_lease(db_url: str, **overrides: Any) -> Settings:
    return settings_for(
        db_url,
        lease_seconds=LEASE_SECONDS,
        build_chunk_size=5000,
        build_parallelism=1,
        **overrides,
    )


@pytest.fixture
def settings(db_url: str) -> Settings:
    return short_lease(db_url)


def built_once(db: Database, tenant_id: int, segment_id: str) -> None:
    """One job, done; the right members; each entering once in the history."""
    assert [job.state for job in job_rows(db, segment_id)] == ["done"]
    expected = expected_members(db, tenant_id, CONDITION)
    assert published_members(db, tenant_id, segment_id) == expected
    with db.read() as conn:
        changes = read_changes(conn, tenant_id, after_seq=0, limit=10**6, segment_id=segment_id)
    assert sorted(change.member_id for change in changes) == expected
    assert {(change.change, change.cause) for change in changes} == {("entered", "build")}
    assert replayed(db, tenant_id, segment_id) == set(expected)


def claimed_once(db: Database, segment_id: str) -> None:
    (job,) = job_rows(db, segment_id)
    assert (job.attempts, job.lease_expiries) == (1, 0)


def test_a_chunk_that_outlives_its_lease_keeps_the_job(
    db: Database, settings: Settings, acme: Tenant
) -> None:
    segment_id = add_segment(db, acme.id, CONDITION)
    claim, plan = start_job(db, settings)
    started = time.monotonic()
    assert run_chunk(db, settings, claim, plan) is Step.PROGRESS
    assert time.monotonic() - started > LEASE_SECONDS

    # The lease runs from the chunk's commit, as long as three such chunks: a rival asking
    # at once finds nothing to reclaim.
    assert claim_job(db, "rival", settings.lease_seconds) is None
    assert finish_job(db, settings, claim, plan) is Step.DONE
    built_once(db, acme.id, segment_id)
    claimed_once(db, segment_id)


def test_a_second_worker_leaves_a_slow_build_to_its_worker(
    db: Database, db_url: str, settings: Settings, acme: Tenant
) -> None:
    """Before, the second worker reclaimed the job after a chunk, then each worker from the
    other, and the build failed after 5 attempts, reported stuck, its workers alive. (With a
    lease this short, a step that happens to be quick leaves a margin a loaded scheduler
    may exceed: the attempts are counted in the test above, where no thread races.)"""
    # The second one looks for claimable jobs without pause, between chunks too.
    first, second = Worker(db, settings), Worker(db, short_lease(db_url, worker_poll_seconds=0.01))
    first.start()
    try:
        segment_id = add_segment(db, acme.id, CONDITION)
        # Past its claim and first chunk (a lease as short as this one leaves no margin
        # between steps shorter than a scheduler's time slice): from here every chunk is long.
        wait_until(lambda: job_rows(db, segment_id)[0].cursor > 0, interval=0.005)
        second.start()
        wait_until(lambda: segment_row(db, segment_id).status in (2, -1), timeout=60)
    finally:
        second.stop()
        first.stop()
    built_once(db, acme.id, segment_id)


def test_a_step_kept_from_the_database_waits_and_keeps_the_job(
    db: Database, db_url: str, settings: Settings, acme: Tenant
) -> None:
    """SQLite: another process holds the write lock past the worker's busy timeout (another
    writer committing back to back starves SQLite's polling busy handler so). Before, the
    step's error abandoned the job and counted an attempt: five such and it failed."""
    if not db.is_sqlite:
        pytest.skip("SQLite's write lock: PostgreSQL writers of other rows do not wait")
    impatient = Database(db_url, sqlite_busy_ms=200)
    try:
        segment_id = add_segment(db, acme.id, CONDITION)
        claim, _plan = start_job(impatient, settings)
        holder = sqlite3.connect(
            db_url.removeprefix("sqlite:///"), isolation_level=None, check_same_thread=False
        )
        holder.execute("BEGIN IMMEDIATE")
        # Released well before the first pause ends, long after the busy timeout.
        threading.Timer(0.6, holder.rollback).start()
        assert run_job(impatient, settings, claim, lambda: False) is Step.DONE
        holder.close()
    finally:
        impatient.dispose()
    built_once(db, acme.id, segment_id)
    claimed_once(db, segment_id)
