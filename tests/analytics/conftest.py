"""The embedded ClickHouse (chdb) for the analytics tests: one session per test process (chdb
keeps one), a fresh database per test, dropped after it."""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from pathlib import Path

import pytest

from segmentd.analytics.engine import ChdbEngine
from segmentd.analytics.full_load import Target

_numbers = itertools.count(1)


@pytest.fixture(scope="session")
def chdb_engine(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ChdbEngine]:
    path: Path = tmp_path_factory.mktemp("chdb")
    engine = ChdbEngine(str(path))
    yield engine
    engine.close()


@pytest.fixture
def analytics(chdb_engine: ChdbEngine) -> Iterator[Target]:
    database = f"segmentd_test_{next(_numbers)}"
    yield Target(chdb_engine, database)
    chdb_engine.execute(f"DROP DATABASE IF EXISTS {database}")
