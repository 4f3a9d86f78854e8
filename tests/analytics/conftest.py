"""The embedded ClickHouse (chdb) for the analytics tests: one session per test process (chdb
keeps one), a fresh database per test, dropped after it."""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from pathlib import Path

import pytest

from segmentd.analytics.engine import Engine, shared_engine
from segmentd.analytics.full_load import Target
from segmentd.database_urls import AnalyticsTarget

_numbers = itertools.count(1)


@pytest.fixture(scope="session")
def chdb_folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The folder of the process's one chdb session (``SEGMENTD_ANALYTICS_URL=chdb://...``)."""
    return tmp_path_factory.mktemp("chdb")


@pytest.fixture(scope="session")
def chdb_engine(chdb_folder: Path) -> Iterator[Engine]:
    # The process's shared engine: what the builds and previews of a test's app use too.
    engine = shared_engine(AnalyticsTarget("chdb", "segmentd", path=str(chdb_folder)))
    yield engine
    engine.close()


@pytest.fixture
def analytics(chdb_engine: Engine) -> Iterator[Target]:
    database = f"segmentd_test_{next(_numbers)}"
    yield Target(chdb_engine, database)
    chdb_engine.execute(f"DROP DATABASE IF EXISTS {database}")
