"""Where a benchmark data set lives: ``sqlite``, ``postgres`` or a database URL."""

from __future__ import annotations

import os
from pathlib import Path

import sqlalchemy as sa

from segmentd.storage.db import Database, normalize_url

DATA = Path(__file__).with_name("data")
POSTGRES_ADMIN_URL = os.environ.get(
    "SEGMENTD_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
)


def resolve(database: str, members: int) -> str:
    """A URL for ``database``: a file per size for ``sqlite``, a database per size for ``postgres``.

    A data set is kept where it was generated and reused by later runs of the same size.
    """
    if database == "sqlite":
        DATA.mkdir(exist_ok=True)
        return f"sqlite:///{DATA / f'bench-{members}.db'}"
    if database in ("postgres", "postgresql"):
        return _postgres_database(f"segmentd_bench_{members}")
    return normalize_url(database)


def _postgres_database(name: str) -> str:
    admin = sa.create_engine(normalize_url(POSTGRES_ADMIN_URL), isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            exists = conn.execute(
                sa.text("SELECT 1 FROM pg_database WHERE datname = :name"), {"name": name}
            ).scalar()
            if not exists:
                conn.exec_driver_sql(f'CREATE DATABASE "{name}"')
    finally:
        admin.dispose()
    return sa.make_url(normalize_url(POSTGRES_ADMIN_URL)).set(database=name).render_as_string(False)


def kind(url: str) -> str:
    return "sqlite" if url.startswith("sqlite") else "postgresql"


def server_version(db: Database) -> str:
    with db.read() as conn:
        if db.is_sqlite:
            return "SQLite " + str(conn.exec_driver_sql("select sqlite_version()").scalar())
        return "PostgreSQL " + str(conn.exec_driver_sql("show server_version").scalar()).split()[0]


# The tables builds, real-time updates and removals churn, and the history they record
# (without statistics the feed's planner takes a page past a cursor for a few rows and sorts
# every change after it).
CHURNED = (
    "segment_members", "segment_buckets", "segments", "build_jobs", "members",
    "history_blocks", "change_counters", "segment_sizes",
)  # fmt: skip


def tidy_postgres(db: Database) -> bool:
    """Do autovacuum's job when the server runs without it; True if it did.

    With autovacuum off, every build leaves its deleted rows behind and no statistics change,
    so each figure would run on the debris of the ones before it. A production server runs
    autovacuum; the suite vacuums the churned tables before each figure, untimed.
    """
    if db.is_sqlite:
        return False
    with db.write_engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        if conn.exec_driver_sql("SHOW autovacuum").scalar() == "on":
            return False
        conn.exec_driver_sql(f"VACUUM (ANALYZE) {', '.join(CHURNED)}")
    return True
