"""The daily refresh on the two-shard cluster (18.16): a list refreshed on the
``Distributed`` tables (one query per chunk for all its time-dependent segments) ends with
the memberships and history of the same list refreshed on the system of record, at a frozen
clock moved across two day boundaries, members changed after the copy's sync included."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from segmentd.settings import Settings
from segmentd.storage.db import Database
from tests.support.moving_clock import MovingClock, moving_clock
from tests.support.refresh_world import EVENING, Side, refresh_agrees, two_sides
from tests.support.streamed_builds import record_queries


@pytest.fixture
def on_copy(settings: Settings) -> Settings:
    return settings.model_copy(update={"build_chunk_size": 11})  # five chunks of the 48


@pytest.fixture
def on_sql(on_copy: Settings) -> Settings:
    return on_copy.model_copy(update={"analytics_url": None})


@pytest.fixture
def frozen() -> Iterator[MovingClock]:
    with moving_clock(EVENING) as moving:
        yield moving


def test_a_refresh_on_the_cluster_publishes_what_the_sql_refresh_publishes(
    outboxed: Database,
    on_copy: Settings,
    on_sql: Settings,
    frozen: MovingClock,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    asked = record_queries(monkeypatch)
    sides: tuple[Side, Side] = two_sides(outboxed, on_sql)
    refresh_agrees(outboxed, on_copy, on_sql, sides, frozen, asked)
