"""The daily refresh on the embedded analytics back-end: at a frozen clock moved across the
tenant's day boundary, a list refreshed on ClickHouse (one query per chunk for all its
time-dependent segments) ends with the memberships and the membership history of the same
list refreshed on the system of record, members changed after the copy was synced
included; with ClickHouse unreachable the attempt fails, nothing moves, and the retry
publishes the same answer."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import timedelta

import pytest
import sqlalchemy as sa

from segmentd.jobs.build_steps import Step
from segmentd.settings import Settings
from segmentd.storage import schema
from segmentd.storage.db import Database
from tests.conftest import make_tenant
from tests.support.moving_clock import MovingClock, moving_clock
from tests.support.refresh_world import (
    DAY,
    EVENING,
    MEMBERS,
    Side,
    build_both,
    change_both,
    claims,
    finish,
    history,
    memberships,
    refresh,
    remove_by_hand,
    seed,
    start_on_copy,
)
from tests.support.streamed_builds import record_queries

CHUNK = 7  # members per refresh chunk: the 48 make seven
_ONE_PASS = re.compile(r"^SELECT member_id, \(.*\) AS s0, \(.*\) AS s1, ", re.S)


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
    """Tenant "sql" and tenant "copy", the same members and segments, built on SQL."""
    seeded = [seed(outboxed, make_tenant(outboxed, name)) for name in ("sql", "copy")]
    sql, copy = build_both(outboxed, on_sql, seeded)
    assert memberships(outboxed, sql) == memberships(outboxed, copy)
    return sql, copy


def test_a_refresh_on_the_copy_publishes_what_the_sql_refresh_publishes(
    outboxed: Database,
    on_copy: Settings,
    on_sql: Settings,
    sides: tuple[Side, Side],
    frozen: MovingClock,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    db, (sql, copy) = outboxed, sides
    asked = record_queries(monkeypatch)
    for day in (1, 2):
        frozen.set(EVENING + timedelta(days=day - 1, hours=1))  # 00:30 the next day
        found = claims(db, on_copy)
        assert set(found) == {sql.tenant_id, copy.tenant_id}
        synced = start_on_copy(db, on_copy, found[copy.tenant_id])
        if day == 1:
            # After the copy was synced: Signup moved into the window (m5, a vip: also
            # "signup_vip"), out of it (m9); m4 taken out of "young" by hand (no outbox row,
            # "lapsed" refers to it). The copy is older than the system of record for them.
            change_both(db, [sql, copy], ["m5@example.com"], DAY + timedelta(days=1))
            change_both(db, [sql, copy], ["m9@example.com"], DAY - timedelta(days=30))
            remove_by_hand(db, [sql, copy], "young", "m4@example.com")
        assert refresh(db, on_sql, found[sql.tenant_id]) is Step.DONE
        finish(db, on_copy, found[copy.tenant_id], synced)
        assert memberships(db, copy) == memberships(db, sql)
        assert history(db, copy) == history(db, sql)
    logged = history(db, copy)
    refreshed = {(c, cause) for changes in logged.values() for _m, c, cause in changes}
    assert {("entered", "refresh"), ("left", "refresh")} <= refreshed
    moved = {(m, cause) for m, _c, cause in logged["signup"]}
    assert ("m5@example.com", "refresh") not in moved  # the real-time path had it right
    # One query per chunk for all four time-dependent segments, on ClickHouse.
    passes = [sql_text for sql_text in asked if _ONE_PASS.match(sql_text)]
    assert len(passes) == 2 * -(-MEMBERS // CHUNK)
    assert all(" AS s3" in q and " AS s4" not in q for q in passes)


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
