"""The two-shard ClickHouse cluster (``tests/support/clickhouse_cluster.py``), started once per
test process and stopped after the last test. Without ``clickhouse-server`` these tests skip,
except under CI (``CI=true``), where they fail: CI installs it (``.ci/run``)."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

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
