"""Builds on the two-shard cluster (18.16) stream by member range: each chunk's query, held
to its range in every set, runs across the ``Distributed`` tables, and the build over
several chunks publishes what the SQL compiler selects, before and after a change."""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import pytest

from segmentd.jobs import analytics_source as source_module
from segmentd.jobs.analytics_source import analytics_source
from segmentd.settings import Settings
from segmentd.storage.db import Database
from tests.conftest import test_settings
from tests.support.clickhouse_cluster import ClickHouseCluster
from tests.support.streamed_builds import CHUNK, record_queries, streamed_build_agrees


@pytest.fixture
def settings(db_url: str, ch_cluster: ClickHouseCluster) -> Iterator[Settings]:
    database = f"s_{uuid.uuid4().hex[:12]}"  # tests share the servers
    port = ch_cluster.shards[0].ports.tcp
    found = test_settings(db_url, analytics_url=f"clickhouse://127.0.0.1:{port}/{database}")
    settings = found.model_copy(update={"build_chunk_size": CHUNK})  # below the floor
    yield settings
    source = analytics_source(settings.analytics)
    assert source is not None
    source.target.engine.close()
    source_module._source.cache_clear()
    for shard in ch_cluster.shards:
        shard.client().execute(f"DROP DATABASE IF EXISTS {database}")


@pytest.fixture
def outboxed(db_url: str) -> Iterator[Database]:
    db = Database(db_url, analytics_outbox=True)
    yield db
    db.dispose()


def test_a_streamed_build_on_the_cluster_agrees_chunk_by_chunk(
    outboxed: Database, settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    asked = record_queries(monkeypatch)
    streamed_build_agrees(outboxed, settings, asked)
