"""Builds on the embedded back-end stream by member range: the source is asked for one
chunk's members at a time (every set of the query held to the range), and the build over
several chunks publishes what the SQL compiler selects, before and after a change."""

from __future__ import annotations

import itertools
from typing import Any

import pytest

from segmentd.jobs.analytics_source import AnalyticsSource, analytics_source
from segmentd.jobs.build_worker import run_pending
from segmentd.settings import Settings
from segmentd.storage.db import Database
from tests.support.analytics_world import published, sql_selected
from tests.support.incremental_world import seed
from tests.support.streamed_builds import CHUNK, record_queries, selections, streamed_build_agrees


@pytest.fixture
def settings(settings: Settings) -> Settings:
    """The back-end's settings with chunks of ``CHUNK`` members (below the setting's floor)."""
    return settings.model_copy(update={"build_chunk_size": CHUNK})


def test_a_streamed_build_agrees_with_the_sql_compiler_chunk_by_chunk(
    outboxed: Database, settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    asked = record_queries(monkeypatch)
    streamed_build_agrees(outboxed, settings, asked)


def test_a_chunk_failing_midway_then_retried_gives_the_same_membership(
    outboxed: Database, settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The third chunk's query raises (as a shard lost mid-build): the attempt ends with the
    cursor after the chunks committed; the retry syncs again and reads the remaining
    chunks only, and publishes what the SQL compiler selects."""
    asked = record_queries(monkeypatch)
    source = analytics_source(settings.analytics)
    assert source is not None
    original = AnalyticsSource.select_range
    calls = {"n": 0}

    def failing_third(self: AnalyticsSource, *args: Any) -> frozenset[int]:
        calls["n"] += 1
        if calls["n"] == 3:
            raise RuntimeError("the analytics copy went away")
        return original(self, *args)

    monkeypatch.setattr(AnalyticsSource, "select_range", failing_third)
    world = seed(outboxed)
    for _ in range(3):  # the failed attempt, then its retry
        run_pending(outboxed, settings)
    found = published(outboxed, world.tenant_id, world.segment_id)
    assert found and found == sql_selected(outboxed, world.tenant_id, world.segment_id)
    ranges = selections(asked)
    # Two chunks committed, the third raised before it reached ClickHouse; the retry went on
    # from the cursor: each range of the 40 members asked once, consecutive.
    chunks = -(-40 // CHUNK)
    assert calls["n"] == chunks + 1
    assert len(ranges) == chunks and ranges[0][0] == 0
    assert all(a[1] == b[0] for a, b in itertools.pairwise(ranges))
