"""Builds on the analytics back-end streamed by member range, as the tests see them: every
query the source sends is recorded (``RecordingEngine``), so a test can check that each
selection read one chunk's members and no more, and that the streamed build publishes what
the SQL compiler selects over several chunks. Shared by the embedded and the cluster tests."""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import replace
from typing import Any

import pytest
import sqlalchemy as sa

from segmentd.analytics.full_load import Target
from segmentd.database_urls import AnalyticsTarget
from segmentd.jobs import analytics_source as source_module
from segmentd.jobs.build_queue import enqueue_build
from segmentd.jobs.build_worker import run_pending
from segmentd.settings import Settings
from segmentd.storage.db import Database
from segmentd.storage.schema import members
from tests.support.analytics_world import published, sql_selected
from tests.support.factories import add_segment_row
from tests.support.incremental_world import change_a_few, seed
from tests.support.stored_conditions import stored_condition

CHUNK = 7  # members per build chunk: the seeded 40 make six chunks
_SELECTION = re.compile(r"^SELECT member_id FROM \S+\.members AS members FINAL ")
_DIFFERENCE = re.compile(r"WHERE .* AND wanted != held ")
_RANGE = re.compile(r"member_id > (\d+) AND member_id <= (\d+)")


class RecordingEngine:
    """A real engine that keeps the SQL of every read it runs."""

    def __init__(self, engine: Any) -> None:
        self.engine = engine
        self.asked: list[str] = []

    def execute(self, sql: str, params: Mapping[str, Any] | None = None) -> None:
        self.engine.execute(sql, params)

    def rows(self, sql: str, params: Mapping[str, Any] | None = None) -> list[list[Any]]:
        self.asked.append(sql)
        return list(self.engine.rows(sql, params))

    def insert(self, table: str, names: Sequence[str], columns: Sequence[Sequence[Any]]) -> None:
        self.engine.insert(table, names, columns)

    def close(self) -> None:
        self.engine.close()


def record_queries(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The SQL of every read the process's analytics source runs from now on."""
    asked: list[str] = []
    opened: Callable[[AnalyticsTarget], Target] = source_module._open

    def recording(target: AnalyticsTarget) -> Target:
        real = opened(target)
        engine = RecordingEngine(real.engine)
        engine.asked = asked
        return replace(real, engine=engine)

    source_module._source.cache_clear()
    monkeypatch.setattr(source_module, "_open", recording)
    return asked


def selections(asked: list[str]) -> list[tuple[int, int]]:
    """The member range (lo, hi] of each selection query; every table it reads is held to
    that range (the whole query reads one chunk's rows)."""
    ranges = []
    for sql in asked:
        if not _SELECTION.match(sql):
            continue
        found = set(_RANGE.findall(sql))
        assert len(found) == 1, f"a selection of more than one range: {sql}"
        assert len(_RANGE.findall(sql)) == sql.count(" FROM "), f"a set not held: {sql}"
        lo, hi = found.pop()
        ranges.append((int(lo), int(hi)))
    return ranges


def members_in(db: Database, tenant_id: int, lo: int, hi: int) -> int:
    with db.read() as conn:
        count = sa.select(sa.func.count()).where(
            members.c.tenant_id == tenant_id, members.c.id > lo, members.c.id <= hi
        )
        return int(conn.execute(count).scalar_one())


def streamed_build_agrees(db: Database, settings: Settings, asked: list[str]) -> None:
    """The seeded tenant (name, tags, campaign activity, unsubscribed) and a segment that
    refers to it, built in chunks of ``CHUNK``, then six members changed and both rebuilt
    (in place: one difference query each): each time the published members equal the SQL
    compiler's, and each selection the source received read one chunk."""
    assert settings.build_chunk_size == CHUNK
    world = seed(db)
    assert run_pending(db, settings) == 1
    with db.read() as conn:
        named = stored_condition(conn, world.tenant_id, {
            "relation": "and", "items": [{"field_name": "Name", "op": "contain", "value": "o"}]
        })  # fmt: skip
    reference = {"kind": "segment", "segment": world.segment_id, "op": "not_in"}
    outer = add_segment_row(db, world.tenant_id, {**named, "items": [*named["items"], reference]})
    assert run_pending(db, settings) == 1
    for segment_id in (world.segment_id, outer):
        found = published(db, world.tenant_id, segment_id)
        assert found and found == sql_selected(db, world.tenant_id, segment_id)

    change_a_few(db, world)
    with db.write() as conn:
        enqueue_build(conn, world.tenant_id, world.segment_id)
    assert run_pending(db, settings) >= 1  # then the referring segment, queued by the publish
    run_pending(db, settings)
    for segment_id in (world.segment_id, outer):
        assert published(db, world.tenant_id, segment_id) == sql_selected(
            db, world.tenant_id, segment_id
        )

    ranges = selections(asked)
    assert len(ranges) >= 2 * 40 // CHUNK  # two first builds of several chunks each
    assert len([sql for sql in asked if _DIFFERENCE.search(sql)]) == 2  # the two rebuilds
    for lo, hi in ranges:
        assert members_in(db, world.tenant_id, lo, hi) <= CHUNK
