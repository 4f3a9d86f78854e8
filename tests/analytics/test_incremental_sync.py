"""After a build, only the changed members reach the copy: the next sync applies the waiting
outbox rows (no full load), and the rebuild publishes what the SQL compiler selects. A drain
that fails halfway leaves the rest waiting; the retry reaches the same answer."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC
from typing import Any

import pytest

from segmentd.analytics.clickhouse_schema import MEMBERS
from segmentd.analytics.engine import Engine
from segmentd.analytics.full_load import Target, counts
from segmentd.jobs.analytics_source import AnalyticsSource, analytics_source
from segmentd.jobs.build_queue import enqueue_build
from segmentd.jobs.build_worker import run_pending
from segmentd.services.member_service import upsert_members
from segmentd.settings import Settings
from segmentd.storage import analytics_outbox as outbox
from segmentd.storage.db import Database
from segmentd.storage.members import TagFlag
from tests.support.analytics_world import (
    name_has,
    named_world,
    published,
    sql_selected,
)
from tests.support.factories import add_segment_row
from tests.support.incremental_world import MEMBERS as SEEDED
from tests.support.incremental_world import change_a_few, rebuilt_after_a_few_changes, seed
from tests.support.stored_conditions import stored_condition


def _source(settings: Settings) -> AnalyticsSource:
    source = analytics_source(settings.analytics)
    assert source is not None
    return source


def test_a_rebuild_applies_only_the_changed_members(outboxed: Database, settings: Settings) -> None:
    db = outboxed
    world = seed(db)
    before = sql_selected(db, world.tenant_id, world.segment_id)  # before the changes
    rebuilt_after_a_few_changes(db, settings, world)
    assert published(db, world.tenant_id, world.segment_id) != before
    with db.read() as conn:
        assert outbox.seqs_of(conn, world.tenant_id) == []
    target = _source(settings).target
    assert counts(target, world.tenant_id)[MEMBERS] == SEEDED - 1  # the deleted one is gone


class FailingEngine:
    """The real engine, failing its ``fail_at``-th insert (ClickHouse going away mid-drain)."""

    def __init__(self, engine: Engine, fail_at: int) -> None:
        self._engine = engine
        self._left = fail_at
        self.inserts = 0

    def execute(self, sql: str, params: Any = None) -> None:
        self._engine.execute(sql, params)

    def rows(self, sql: str, params: Any = None) -> list[list[Any]]:
        return self._engine.rows(sql, params)

    def insert(self, table: str, names: Sequence[str], columns: Sequence[Sequence[Any]]) -> None:
        self._left -= 1
        if self._left == 0:
            raise ConnectionError("ClickHouse went away")
        self._engine.insert(table, names, columns)
        self.inserts += 1

    def close(self) -> None:
        pass


def test_a_drain_failing_halfway_then_retried_gives_the_same_answer(
    outboxed: Database, settings: Settings, chdb_engine: Engine
) -> None:
    db = outboxed
    world = seed(db)
    assert run_pending(db, settings) == 1
    waiting = change_a_few(db, world)
    source = _source(settings)
    database = source.target.database
    # Two outbox rows a batch; the fourth insert (in the second batch) fails.
    failing = FailingEngine(chdb_engine, fail_at=4)
    broken = AnalyticsSource(lambda: Target(failing, database), batch=2)
    with pytest.raises(ConnectionError):
        broken.sync(db, world.tenant_id)
    assert failing.inserts == 3
    with db.read() as conn:
        left = len(outbox.seqs_of(conn, world.tenant_id))
    assert 0 < left < waiting  # the first batch went through, the failed one stayed

    with db.write() as conn:
        enqueue_build(conn, world.tenant_id, world.segment_id)
    assert run_pending(db, settings) == 1
    synced = source.last_synced(world.tenant_id)
    assert synced is not None and not synced.full_load
    assert synced.applied.outbox_rows == left
    assert published(db, world.tenant_id, world.segment_id) == sql_selected(
        db, world.tenant_id, world.segment_id
    )


def test_a_reference_reads_the_members_the_real_time_path_moved(
    outboxed: Database, settings: Settings
) -> None:
    """A referenced segment is copied again when its published membership changed without a
    new generation (the real-time path moved a member): the referrer's rebuild reads it."""
    db = outboxed
    tenant_id, inner = named_world(db)
    assert run_pending(db, settings) == 1
    with db.read() as conn:
        named = stored_condition(conn, tenant_id, name_has("e"))
    reference = {"kind": "segment", "segment": inner, "op": "in"}
    either = {**named, "relation": "or", "items": [*named["items"], reference]}
    outer = add_segment_row(db, tenant_id, either)
    assert run_pending(db, settings) == 1
    before = published(db, tenant_id, outer)
    assert before == sql_selected(db, tenant_id, outer)

    with db.write() as conn:  # Bob joins "an" through the service: in real time
        upsert_members(
            conn, tenant_id, None, [{"email": "m4@example.com", "name": "Bran"}],
            update_existing=True, tag_flag=TagFlag.KEEP, tz=UTC,
        )  # fmt: skip
    assert published(db, tenant_id, inner) == sql_selected(db, tenant_id, inner)
    with db.write() as conn:
        enqueue_build(conn, tenant_id, outer)
    assert run_pending(db, settings) == 1
    synced = _source(settings).last_synced(tenant_id)
    # The reference copied again; the outer segment's own membership too (rebuilt in place).
    assert synced is not None and set(synced.copied) == {inner, outer}
    after = published(db, tenant_id, outer)
    assert after == sql_selected(db, tenant_id, outer) and after != before
