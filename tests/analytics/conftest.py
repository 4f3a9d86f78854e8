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
from segmentd.jobs import analytics_source as source_module
from segmentd.settings import Settings
from segmentd.storage.db import Database
from tests.conftest import test_settings

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


@pytest.fixture
def settings(db_url: str, chdb_folder: Path, chdb_engine: Engine) -> Iterator[Settings]:
    """A server's settings with the embedded engine as the analytics back-end."""
    yield test_settings(db_url, analytics_url=f"chdb://{chdb_folder}")
    # Each test's system of record starts again at tenant 1: so does its copy.
    chdb_engine.execute("DROP DATABASE IF EXISTS segmentd")
    source_module._source.cache_clear()


@pytest.fixture
def outboxed(db_url: str) -> Iterator[Database]:
    """The test's database as the app opens it with the back-end set: writes fill the outbox."""
    db = Database(db_url, analytics_outbox=True)
    yield db
    db.dispose()
