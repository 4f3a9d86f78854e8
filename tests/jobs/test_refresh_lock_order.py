"""The daily refresh locks the segments referring to the refreshed ones with them, in
ascending id, as builds and real-time updates lock segments: a writer holding a referrer
with a lower id and waiting for a refreshed segment is never caught in a deadlock.

PostgreSQL only: SQLite runs one writer at a time and locks no rows.
"""

from __future__ import annotations

import threading
from typing import Any

import pytest
import sqlalchemy as sa

from segmentd import clock
from segmentd.domain.fields import FieldDef
from segmentd.jobs.build_steps import Step
from segmentd.jobs.build_worker import run_pending
from segmentd.jobs.refresh_queue import claim_refresh, enqueue_due
from segmentd.jobs.refresh_runner import Conditions, prepare, run_chunk
from segmentd.settings import Settings
from segmentd.storage import schema
from segmentd.storage.db import Database
from tests.conftest import Tenant, wait_until
from tests.jobs.test_daily_refresh import (  # noqa: F401 (fixtures)
    condition_of,
    day_clock,
    joined,
    settings,
)
from tests.support.day_leaf import stored
from tests.support.factories import add_segment_row, held
from tests.support.moving_clock import MovingClock

# The referrer sorts before the segment it refers to.
REFERRER, TIMED = "000000000000000000000001", "ffffffffffffffffffffff01"


def add_segment(db: Database, tenant_id: int, segment_id: str, condition: dict[str, Any]) -> None:
    add_segment_row(
        db, tenant_id, condition, segment_id=segment_id, name=f"segment {segment_id[-2:]}"
    )


def lock(conn: sa.Connection, segment_id: str) -> None:
    s = schema.segments.c
    conn.execute(sa.select(s.id).where(s.id == segment_id).with_for_update()).one()


def waiting_for_locks(db: Database) -> int:
    with db.read() as conn:
        return int(conn.exec_driver_sql("SELECT count(*) FROM pg_locks WHERE NOT granted").scalar())


def test_a_refresh_chunk_locks_referrers_in_ascending_order_with_the_refreshed_segments(
    db: Database,
    settings: Settings,  # noqa: F811
    tenant: Tenant,
    joined: FieldDef,  # noqa: F811
    day_clock: MovingClock,  # noqa: F811
) -> None:
    if db.is_sqlite:
        pytest.skip("SQLite locks no rows: one writer at a time")
    add_segment(db, tenant.id, TIMED, condition_of(stored(joined, 2)))
    segment_leaf = {"kind": "segment", "segment": TIMED, "op": "in"}
    add_segment(db, tenant.id, REFERRER, condition_of(segment_leaf))
    run_pending(db, settings)
    before = held(db, REFERRER)
    assert before == held(db, TIMED)

    day_clock.advance(days=1)
    enqueue_due(db, clock.today(settings.tz))
    claim = claim_refresh(db, "worker", settings.lease_seconds)
    assert claim is not None
    assert prepare(db, settings, claim) is Step.PROGRESS

    steps: list[Step] = []
    with db.write() as writer:
        # A writer in ascending order: the referrer first, then the segment it refers to.
        writer.exec_driver_sql("SET LOCAL lock_timeout = '5s'")
        lock(writer, REFERRER)
        chunk = threading.Thread(
            target=lambda: steps.append(run_chunk(db, settings, claim, Conditions()))
        )
        chunk.start()
        wait_until(lambda: waiting_for_locks(db) > 0, timeout=20)
        # The chunk waits for the referrer before it holds the refreshed segment: taking
        # that one now neither waits nor deadlocks.
        lock(writer, TIMED)
    chunk.join(timeout=60)
    assert steps == [Step.PROGRESS]
    moved = held(db, TIMED)
    assert moved != before  # the chunk moved members, and the referrer followed them
    assert held(db, REFERRER) == moved
