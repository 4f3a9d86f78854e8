"""Rows written straight into their tables, bypassing the API, for the seeded data sets:
PostgreSQL through ``COPY``, SQLite through ``executemany`` in large transactions on the
loader's own connection with ``synchronous=OFF`` (the server's own connections keep
``FULL``)."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from typing import Any

import sqlalchemy as sa

from segmentd.storage.db import Database

Batch = list[tuple[str, list[str], list[tuple[Any, ...]]]]  # (table, columns, rows) each


def load_batches(db: Database, batches: Iterator[Batch]) -> None:
    """Write the rows straight into their tables, a transaction per batch on SQLite."""
    loader = _copy_postgres if not db.is_sqlite else _executemany_sqlite
    loader(db, batches)


def _copy_postgres(db: Database, batches: Iterator[Batch]) -> None:
    raw = db.write_engine.raw_connection()
    try:
        connection = raw.driver_connection
        assert connection is not None
        with connection.cursor() as cursor:
            for batch in batches:
                for table, columns, rows in batch:
                    with cursor.copy(f"COPY {table} ({', '.join(columns)}) FROM STDIN") as copy:
                        for row in rows:
                            copy.write_row(row)
        connection.commit()
    finally:
        raw.close()


def _executemany_sqlite(db: Database, batches: Iterator[Batch]) -> None:
    path = sa.make_url(db.url).database
    assert path, "an in-memory SQLite database cannot be shared with the benchmarks"
    connection = sqlite3.connect(path, isolation_level=None)
    try:
        # Only this loader's connection: a crash mid-load leaves a data set never marked done.
        connection.execute("PRAGMA synchronous=OFF")
        connection.execute("PRAGMA cache_size=-262144")  # 256 MiB: index pages stay in memory
        for batch in batches:
            connection.execute("BEGIN IMMEDIATE")
            for table, columns, rows in batch:
                marks = ", ".join("?" * len(columns))
                connection.executemany(
                    f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({marks})", rows
                )
            connection.execute("COMMIT")
    finally:
        connection.close()


def analyze(db: Database) -> None:
    """Fresh planner statistics and visibility maps, as autovacuum would soon give after a
    bulk load (insert-only tables too): without a visibility map PostgreSQL cannot read the
    activity and tag indexes alone, and a bench server may run without autovacuum.

    Not on SQLite: segmentd never runs ANALYZE there, and statistics taken now would
    describe a data set without segments or visitors, misleading the planner later.
    """
    with db.write_engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.exec_driver_sql("VACUUM (ANALYZE)")
