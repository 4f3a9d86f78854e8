"""The daily refresh on the embedded analytics back-end: at a frozen clock moved across the
tenant's day boundary, a list refreshed on ClickHouse (one query per chunk for all its
time-dependent segments) ends with the memberships and the membership history of the same
list refreshed on the system of record, members changed after the copy was synced
included; with ClickHouse unreachable the attempt fails, nothing moves, and the retry
publishes the same answer; a chunk failing midway leaves the chunks before it committed and
the retry goes on from the cursor."""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest
import sqlalchemy as sa

from segmentd.jobs.analytics_source import AnalyticsSource
from segmentd.jobs.build_steps import Step
from segmentd.settings import Settings
from segmentd.storage import schema
from segmentd.storage.db import Database
from tests.support.moving_clock import MovingClock, moving_clock
from tests.support.refresh_world import (
    EVENING,
    MEMBERS,
    Side,
    claims,
    history,
    memberships,
    refresh,
    refresh_agrees,
    two_sides,
)
from tests.support.streamed_builds import record_queries

CHUNK = 7  # members per refresh chunk: the 48 make seven


@pytest.fixture
def on_copy(settings: Settings) -> Settings:
    """The back-end's settings with small chunks."""
    return settings.model_copy(update={"build_chunk_size": CHUNK})


@pytest.fixture
def on_sql(on_copy: Settings) -> Settings:
    return on_copy.model_copy(update={"analytics_url": None})


@pytest.fixture
def frozen() -> Iterator[MovingClock]:
    with moving_clock(EVENING) as moving:
        yield moving


@pytest.fixture
def sides(outboxed: Database, on_sql: Settings, frozen: MovingClock) -> tuple[Side, Side]:
    return two_sides(outboxed, on_sql)


def test_a_refresh_on_the_copy_publishes_what_the_sql_refresh_publishes(
    outboxed: Database,
    on_copy: Settings,
    on_sql: Settings,
    sides: tuple[Side, Side],
    frozen: MovingClock,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    asked = record_queries(monkeypatch)
    refresh_agrees(outboxed, on_copy, on_sql, sides, frozen, asked)


def test_clickhouse_down_fails_the_attempt_and_the_retry_publishes(
    outboxed: Database,
    on_copy: Settings,
    on_sql: Settings,
    sides: tuple[Side, Side],
    frozen: MovingClock,
) -> None:
    db, (sql, copy) = outboxed, sides
    down = on_copy.model_copy(update={"analytics_url": "clickhouse://127.0.0.1:1/segmentd"})
    before, logged = memberships(db, copy), history(db, copy)
    frozen.set(EVENING + timedelta(hours=1))
    found = claims(db, down)
    assert refresh(db, down, found[copy.tenant_id]) is None  # abandoned
    assert memberships(db, copy) == before and history(db, copy) == logged
    with db.read() as conn:
        job = conn.execute(
            sa.select(schema.refresh_jobs).where(schema.refresh_jobs.c.tenant_id == copy.tenant_id)
        ).one()
    # The lease given up at once (any worker may retry), nothing done, the error kept.
    assert (job.state, job.attempts, job.cursor, job.lease_expires_at) == ("running", 1, 0, 0)
    assert "Connection refused" in job.error

    assert refresh(db, on_sql, found[sql.tenant_id]) is Step.DONE
    retried = claims(db, on_copy)
    assert set(retried) == {copy.tenant_id}
    assert refresh(db, on_copy, retried[copy.tenant_id]) is Step.DONE
    assert memberships(db, copy) == memberships(db, sql) != before
    assert history(db, copy) == history(db, sql)


def test_a_chunk_failing_midway_then_retried_publishes_the_same(
    outboxed: Database,
    on_copy: Settings,
    on_sql: Settings,
    sides: tuple[Side, Side],
    frozen: MovingClock,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The third chunk's query raises (the copy lost mid-refresh): the two chunks before it
    stay committed, the retry syncs again and goes on from the cursor, each range asked
    once, and the end is the SQL refresh's."""
    db, (sql, copy) = outboxed, sides
    original = AnalyticsSource.select_each
    ranges: list[tuple[int, int]] = []

    def failing_third(self: AnalyticsSource, *args: Any) -> Any:
        if len(ranges) == 2 and not failed:
            failed.append(True)
            raise OSError("the analytics copy went away")
        ranges.append((args[3], args[4]))
        return original(self, *args)

    failed: list[bool] = []
    monkeypatch.setattr(AnalyticsSource, "select_each", failing_third)
    frozen.set(EVENING + timedelta(hours=1))
    found = claims(db, on_copy)
    assert refresh(db, on_sql, found[sql.tenant_id]) is Step.DONE
    assert refresh(db, on_copy, found[copy.tenant_id]) is None  # abandoned at the third
    with db.read() as conn:
        cursor = conn.execute(
            sa.select(schema.refresh_jobs.c.cursor).where(
                schema.refresh_jobs.c.tenant_id == copy.tenant_id
            )
        ).scalar_one()
    assert cursor == ranges[1][1]  # two chunks committed
    retried = claims(db, on_copy)
    assert refresh(db, on_copy, retried[copy.tenant_id]) is Step.DONE
    assert memberships(db, copy) == memberships(db, sql)
    assert history(db, copy) == history(db, sql)
    assert len(ranges) == -(-MEMBERS // CHUNK)
    assert all(a[1] == b[0] for a, b in itertools.pairwise(ranges))
