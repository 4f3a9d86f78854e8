"""The two-shard ClickHouse cluster (``tests/support/clickhouse_cluster.py``), started once per
test process and stopped after the last test. Without ``clickhouse-server`` these tests skip,
except under CI (``CI=true``), where they fail: CI installs it (``.ci/run``)."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from segmentd.jobs import analytics_source as source_module
from segmentd.jobs.analytics_source import analytics_source
from segmentd.settings import Settings
from segmentd.storage.db import Database
from tests.conftest import test_settings
from tests.support.clickhouse_cluster import ClickHouseCluster, server_binary

IN_CI = os.environ.get("CI", "").lower() == "true"


@pytest.fixture(scope="session")
def ch_cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ClickHouseCluster]:
    binary = server_binary()
    if binary is None:
        message = "clickhouse-server is not installed (apt-get install clickhouse-server)"
        if IN_CI:
            pytest.fail(f"{message}: CI requires it")
        pytest.skip(message)
    cluster = ClickHouseCluster(binary, Path(tmp_path_factory.mktemp("clickhouse")))
    try:
        cluster.start()
        yield cluster
    finally:
        cluster.stop()


@pytest.fixture
def settings(db_url: str, ch_cluster: ClickHouseCluster) -> Iterator[Settings]:
    """A server's settings with the cluster as the analytics back-end, on a database of the
    test's own (the tests share the servers), dropped on every shard after it."""
    database = f"t_{uuid.uuid4().hex[:12]}"
    port = ch_cluster.shards[0].ports.tcp
    settings = test_settings(db_url, analytics_url=f"clickhouse://127.0.0.1:{port}/{database}")
    yield settings
    source = analytics_source(settings.analytics)
    assert source is not None
    source.target.engine.close()
    source_module._source.cache_clear()
    for shard in ch_cluster.shards:
        shard.client().execute(f"DROP DATABASE IF EXISTS {database}")


@pytest.fixture
def outboxed(db_url: str) -> Iterator[Database]:
    """The test's database as the app opens it with the back-end set: writes fill the outbox."""
    db = Database(db_url, analytics_outbox=True)
    yield db
    db.dispose()
