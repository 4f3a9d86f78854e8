"""Database faults over HTTP: a lost connection is retried when nothing was applied, a COMMIT
whose answer was lost is resolved, and what cannot be served answers a documented 503.

Every fault is real. PostgreSQL: the test holds a lock the server's request waits for, then
terminates that request's backend (``pg_terminate_backend``) and lets go of the lock, so the
connection is lost in the middle of the request's transaction, or during its COMMIT (a
deferred trigger waits on an advisory lock the test holds). SQLite: the test holds the write
lock of the database file.
"""

from __future__ import annotations

import logging
import sqlite3
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import sqlalchemy as sa

from segmentd.api.fault_answers import NOT_APPLIED, RETRY_AFTER_SECONDS
from segmentd.storage.db import Database, commit_outcome
from segmentd.storage.faults import DatabaseUnavailable
from tests.conftest import (
    POSTGRES_ADMIN_URL,
    LiveServer,
    Tenant,
    make_tenant,
    migrated_database_url,
    test_settings,
    wait_until,
)

SITES = "/v1/sites"
POSTGRES_ONLY = pytest.mark.parametrize(
    "db_url", [pytest.param("postgres", marks=pytest.mark.postgres)], indirect=True
)
ADVISORY_KEY = 424242


class _Records(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.messages: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.messages.append(record.getMessage())


@pytest.fixture
def logged() -> Iterator[list[str]]:
    handler = _Records()
    logger = logging.getLogger("segmentd")
    logger.addHandler(handler)
    yield handler.messages
    logger.removeHandler(handler)


def _admin() -> sa.Engine:
    return sa.create_engine(POSTGRES_ADMIN_URL, isolation_level="AUTOCOMMIT")


def _waiting_backends(admin: sa.Connection, database: str, wait_event_type: str) -> list[int]:
    return list(
        admin.execute(
            sa.text(
                "SELECT pid FROM pg_stat_activity WHERE datname = :name "
                "AND wait_event_type = :type AND pid <> pg_backend_pid()"
            ),
            {"name": database, "type": wait_event_type},
        ).scalars()
    )


def _terminate(admin: sa.Connection, pids: list[int]) -> None:
    for pid in pids:
        assert admin.execute(sa.text("SELECT pg_terminate_backend(:pid)"), {"pid": pid}).scalar()


class _InThread:
    """Runs an HTTP request in a thread, so the test can act while the server waits."""

    def __init__(self, call: Any) -> None:
        self.answer: httpx.Response | None = None
        self._thread = threading.Thread(target=self._run, args=(call,), daemon=True)
        self._thread.start()

    def _run(self, call: Any) -> None:
        self.answer = call()

    def result(self) -> httpx.Response:
        self._thread.join(timeout=60)
        assert self.answer is not None, "the request did not finish"
        return self.answer


def _drop_request_waiting_on_table_lock(
    database_url: str, request: Any, times: int = 1
) -> httpx.Response:
    """Holds an exclusive lock on ``lists``, starts ``request``, terminates the backend that
    waits for the lock (``times`` times: the retry waits too), then lets the lock go;
    returns the request's answer."""
    database = sa.make_url(database_url).database or ""
    holder = sa.create_engine(database_url)
    admin = _admin()
    try:
        with holder.connect() as locking, admin.connect() as control:
            locking.execute(sa.text("LOCK TABLE lists IN ACCESS EXCLUSIVE MODE"))
            running = _InThread(request)
            terminated: set[int] = set()
            for _ in range(times):
                done = frozenset(terminated)
                waiting = wait_until(
                    lambda done=done: set(_waiting_backends(control, database, "Lock")) - done
                )
                _terminate(control, sorted(waiting))
                terminated |= waiting
            locking.rollback()
            return running.result()
    finally:
        holder.dispose()
        admin.dispose()


@POSTGRES_ONLY
def test_a_read_whose_connection_is_lost_is_run_again(
    db: Database, db_url: str, tenant: Tenant, logged: list[str]
) -> None:
    with (
        LiveServer(test_settings(db_url), start_worker=False) as live,
        live.client(auth=tenant.auth, timeout=60) as http,
    ):
        assert http.post(SITES, json={"name": "shop"}).status_code == 200
        answer = _drop_request_waiting_on_table_lock(db_url, lambda: http.get(SITES))
        assert answer.status_code == 200, answer.text
        assert [site["name"] for site in answer.json()["result"]].count("shop") == 1
    assert any("GET /v1/sites" in line and "running it again" in line for line in logged)


@POSTGRES_ONLY
def test_a_request_that_loses_its_connection_twice_answers_503(
    db: Database, db_url: str, tenant: Tenant
) -> None:
    with (
        LiveServer(test_settings(db_url), start_worker=False) as live,
        live.client(auth=tenant.auth, timeout=60) as http,
    ):
        answer = _drop_request_waiting_on_table_lock(
            db_url, lambda: http.post(SITES, json={"name": "shop"}), times=2
        )
        assert answer.status_code == 503
        assert answer.headers["content-type"] == "application/json"
        assert answer.headers["retry-after"] == str(RETRY_AFTER_SECONDS)
        assert answer.json() == {"code": 30503, "message": NOT_APPLIED, "path": None}
        listed = http.get(SITES).json()["result"]  # the connection and the server go on
    assert "shop" not in [site["name"] for site in listed]


@POSTGRES_ONLY
def test_a_write_whose_connection_is_lost_before_commit_is_run_again_and_lands_once(
    db: Database, db_url: str, tenant: Tenant, logged: list[str]
) -> None:
    with (
        LiveServer(test_settings(db_url), start_worker=False) as live,
        live.client(auth=tenant.auth, timeout=60) as http,
    ):
        answer = _drop_request_waiting_on_table_lock(
            db_url, lambda: http.post(SITES, json={"name": "shop"})
        )
        assert answer.status_code == 200, answer.text
        listed = http.get(SITES).json()["result"]
    assert [site["name"] for site in listed].count("shop") == 1
    assert any("POST /v1/sites" in line and "running it again" in line for line in logged)


# --- a COMMIT that fails ------------------------------------------------------------------------

_BLOCKING_TRIGGER = f"""
CREATE FUNCTION wait_for_test() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_advisory_xact_lock({ADVISORY_KEY});
    RETURN NULL;
END $$;
CREATE CONSTRAINT TRIGGER wait_at_commit AFTER INSERT ON lists
    DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION wait_for_test();
"""


@pytest.fixture
def own_postgres(tmp_path: Path) -> Iterator[str]:
    """A database of this test's own: it gets a trigger no other test should meet."""
    for url in migrated_database_url("postgres", tmp_path):
        database = Database(url)
        database.migrate()
        database.dispose()
        yield url


@pytest.mark.postgres
def test_a_commit_whose_connection_is_lost_is_resolved_then_run_again(
    own_postgres: str, logged: list[str]
) -> None:
    database = Database(own_postgres)
    tenant = make_tenant(database)
    with database.write() as conn:
        conn.exec_driver_sql(_BLOCKING_TRIGGER)
    database.dispose()
    name = sa.make_url(own_postgres).database or ""
    # Advisory locks belong to a database: take it in the server's own.
    admin = sa.create_engine(own_postgres, isolation_level="AUTOCOMMIT")
    try:
        with (
            LiveServer(test_settings(own_postgres), start_worker=False) as live,
            live.client(auth=tenant.auth, timeout=60) as http,
            admin.connect() as control,
        ):
            control.execute(sa.text("SELECT pg_advisory_lock(:key)"), {"key": ADVISORY_KEY})
            running = _InThread(lambda: http.post(SITES, json={"name": "shop"}))
            # The request's COMMIT runs the deferred trigger, which waits for the test's lock.
            in_commit = wait_until(
                lambda: control.execute(
                    sa.text(
                        "SELECT pid FROM pg_stat_activity WHERE datname = :name "
                        "AND query = 'COMMIT' AND wait_event = 'advisory'"
                    ),
                    {"name": name},
                ).scalar()
            )
            _terminate(control, [in_commit])
            control.execute(sa.text("SELECT pg_advisory_unlock(:key)"), {"key": ADVISORY_KEY})
            answer = running.result()
            assert answer.status_code == 200, answer.text
            listed = http.get(SITES).json()["result"]
            assert [site["name"] for site in listed].count("shop") == 1
    finally:
        admin.dispose()
    assert any("during COMMIT" in line and "aborted" in line for line in logged)
    assert any("POST /v1/sites" in line and "running it again" in line for line in logged)


@POSTGRES_ONLY
def test_the_outcome_of_a_transaction_is_read_from_its_id(db: Database) -> None:
    def xid_of(conn: sa.Connection) -> str:
        conn.execute(sa.text("INSERT INTO tenants (name, created_at) VALUES ('x', 0)"))
        return str(conn.exec_driver_sql("SELECT pg_current_xact_id_if_assigned()::text").scalar())

    with db.write_engine.connect() as conn:
        with conn.begin():
            committed = xid_of(conn)
        transaction = conn.begin()
        aborted = xid_of(conn)
        transaction.rollback()
        with conn.begin():
            running = xid_of(conn)
            assert commit_outcome(db.write_engine, running) == "in progress"
    assert commit_outcome(db.write_engine, committed) == "committed"
    assert commit_outcome(db.write_engine, aborted) == "aborted"


# --- SQLite: a lock held by another process -----------------------------------------------------


@pytest.fixture
def locked_sqlite(tmp_path: Path) -> Iterator[tuple[str, sqlite3.Connection]]:
    url = f"sqlite:///{tmp_path / 'segmentd.db'}"
    database = Database(url)
    database.migrate()
    database.dispose()
    holder = sqlite3.connect(tmp_path / "segmentd.db", isolation_level=None)
    yield url, holder
    holder.close()


def test_sqlite_database_is_locked_answers_503_and_nothing_is_applied(
    locked_sqlite: tuple[str, sqlite3.Connection],
) -> None:
    url, holder = locked_sqlite
    database = Database(url)
    tenant = make_tenant(database)
    database.dispose()
    settings = test_settings(url, sqlite_busy_seconds=0)
    with (
        LiveServer(settings, start_worker=False) as live,
        live.client(auth=tenant.auth, timeout=60) as http,
    ):
        holder.execute("BEGIN IMMEDIATE")  # another process holds the write lock
        refused = http.post(SITES, json={"name": "shop"})
        assert refused.status_code == 503
        assert refused.headers["content-type"] == "application/json"
        assert refused.headers["retry-after"] == str(RETRY_AFTER_SECONDS)
        assert refused.json() == {"code": 30503, "message": NOT_APPLIED, "path": None}
        assert http.get(SITES).status_code == 200  # reads go on meanwhile (WAL)
        holder.execute("ROLLBACK")
        assert http.post(SITES, json={"name": "shop"}).status_code == 200
        assert [site["name"] for site in http.get(SITES).json()["result"]].count("shop") == 1


def test_a_locked_sqlite_write_raises_database_unavailable(
    locked_sqlite: tuple[str, sqlite3.Connection],
) -> None:
    url, holder = locked_sqlite
    database = Database(url, sqlite_busy_ms=0)
    holder.execute("BEGIN IMMEDIATE")
    try:
        with pytest.raises(DatabaseUnavailable) as raised, database.write() as conn:
            conn.execute(sa.text("INSERT INTO tenants (name, created_at) VALUES ('x', 0)"))
        assert raised.value.applied is False
    finally:
        holder.execute("ROLLBACK")
        database.dispose()
