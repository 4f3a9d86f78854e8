"""Pooled PostgreSQL connections: a connection the server dropped while it sat idle in the
pool is replaced before a request uses it (``storage.db``: pinged after sitting idle)."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from segmentd.storage import db as db_module
from segmentd.storage.db import Database
from segmentd.storage.prepared import OPTION as PREPARED
from tests.conftest import POSTGRES_ADMIN_URL


def _drop_connections(database: str) -> int:
    admin = sa.create_engine(POSTGRES_ADMIN_URL, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            return len(
                conn.execute(
                    sa.text(
                        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                        "WHERE datname = :name AND pid <> pg_backend_pid()"
                    ),
                    {"name": database},
                ).all()
            )
    finally:
        admin.dispose()


def test_a_connection_dropped_while_idle_is_replaced(
    db: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    if db.is_sqlite:
        pytest.skip("SQLite has no server to drop connections")
    with db.read() as conn:
        assert conn.execute(sa.text("SELECT 1")).scalar() == 1  # one connection, now pooled
    assert _drop_connections(db.write_engine.url.database or "") >= 1
    monkeypatch.setattr(db_module, "IDLE_PING_SECONDS", 0.0)  # as if it sat idle long enough
    with db.read() as conn:
        assert conn.execute(sa.text("SELECT 1")).scalar() == 1


def test_the_idle_ping_keeps_the_prepared_statements(
    db: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    if db.is_sqlite:
        pytest.skip("SQLite connections are not pinged")
    marked = sa.text("SELECT 2 AS prepared_before_the_ping").execution_options(**PREPARED)
    with db.write() as conn:
        conn.execute(marked)
    monkeypatch.setattr(db_module, "IDLE_PING_SECONDS", 0.0)  # pinged at the next checkout
    with db.write() as conn:
        rows = conn.execute(sa.text("SELECT statement FROM pg_prepared_statements")).all()
    assert any("prepared_before_the_ping" in row.statement for row in rows)
