"""Engines and transactions.

SQLite gets WAL, ``synchronous=FULL`` (an acknowledged write survives power loss) and
``BEGIN IMMEDIATE`` for every write transaction, so a read that later writes never dies on
``database is locked``. Readers use a separate engine with deferred transactions so they
never queue behind the writer.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import sqlalchemy as sa
from sqlalchemy import event
from sqlalchemy.engine import Connection, Engine

SQLITE_BUSY_TIMEOUT_MS = 30_000


def is_sqlite(url: str) -> bool:
    return url.startswith("sqlite")


def normalize_url(url: str) -> str:
    """Accept ``postgresql://`` and ``postgres://`` as the psycopg 3 driver."""
    for prefix in ("postgresql://", "postgres://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix) :]
    return url


def _sqlite_engine(url: str, begin: str) -> Engine:
    engine = sa.create_engine(url, connect_args={"check_same_thread": False, "timeout": 30})

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        # Let SQLAlchemy, not the driver, decide when transactions begin.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=FULL")
        cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(connection: Connection) -> None:
        connection.exec_driver_sql(begin)

    return engine


class Database:
    """One database: ``write()`` and ``read()`` open a transaction and commit on success."""

    def __init__(self, url: str) -> None:
        self.url = normalize_url(url)
        self.is_sqlite = is_sqlite(self.url)
        if self.is_sqlite:
            self.write_engine = _sqlite_engine(self.url, "BEGIN IMMEDIATE")
            self.read_engine = _sqlite_engine(self.url, "BEGIN")
        else:
            self.write_engine = sa.create_engine(
                self.url, pool_size=10, max_overflow=20, pool_pre_ping=True
            )
            self.read_engine = self.write_engine

    @contextmanager
    def write(self) -> Iterator[Connection]:
        with self.write_engine.begin() as connection:
            yield connection

    @contextmanager
    def read(self) -> Iterator[Connection]:
        with self.read_engine.begin() as connection:
            yield connection

    @contextmanager
    def snapshot(self) -> Iterator[Connection]:
        """A read transaction that sees one state of the database throughout.

        SQLite's read transactions already do (WAL snapshot); PostgreSQL needs REPEATABLE READ.
        """
        if self.is_sqlite:
            with self.read() as connection:
                yield connection
            return
        with self.read_engine.connect() as connection:
            connection.execution_options(isolation_level="REPEATABLE READ")
            with connection.begin():
                yield connection

    def migrate(self) -> None:
        from .migrate import upgrade

        upgrade(self)

    def dispose(self) -> None:
        self.write_engine.dispose()
        if self.read_engine is not self.write_engine:
            self.read_engine.dispose()
