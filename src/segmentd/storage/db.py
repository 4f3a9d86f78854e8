"""Engines and transactions.

SQLite gets WAL, ``synchronous=FULL`` (an acknowledged write survives power loss) and
``BEGIN IMMEDIATE`` for every write transaction, so a read that later writes never dies on
``database is locked``. Readers use a separate engine with deferred transactions so they
never queue behind the writer.

A server (``background_checkpoints``) copies the WAL back into the database from a thread of
its own. By default SQLite does it in whichever commit crosses 1,000 WAL pages, and that one
request waits for it.

PostgreSQL connections are checked with a round trip only when they come out of the pool
after sitting idle (``IDLE_PING_SECONDS``): a ping on every checkout would cost each request
a round trip, while a server restart or a dropped connection shows up in idle ones.
"""

from __future__ import annotations

import logging
import sqlite3
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import sqlalchemy as sa
from sqlalchemy import event
from sqlalchemy.engine import Connection, Engine

from ..database_urls import is_sqlite, normalize_url
from . import change_log, transaction_ids, wakeups
from .analytics_outbox import OPTION as outbox_option
from .faults import DatabaseUnavailable, connection_lost, is_transient, note_commit
from .prepared import prepare_when_marked
from .side_by_side import READER_OPTION
from .write_turns import WriteTurns

SQLITE_BUSY_TIMEOUT_MS = 30_000
CHECKPOINT_SECONDS = 1.0
IDLE_PING_SECONDS = 5.0
# Read just before COMMIT, so a COMMIT whose answer is lost can be resolved; NULL when the
# transaction wrote nothing (no id is assigned just to ask).
CURRENT_XID = "SELECT pg_current_xact_id_if_assigned()::text"

log = logging.getLogger("segmentd.db")


def _sqlite_engine(
    url: str, begin: str, autocheckpoint: bool = True, busy_ms: int = SQLITE_BUSY_TIMEOUT_MS
) -> Engine:
    engine = sa.create_engine(
        url, connect_args={"check_same_thread": False, "timeout": busy_ms / 1000}
    )

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        # Let SQLAlchemy, not the driver, decide when transactions begin.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=FULL")
        cursor.execute(f"PRAGMA busy_timeout={busy_ms}")
        cursor.execute("PRAGMA foreign_keys=ON")
        if not autocheckpoint:
            cursor.execute("PRAGMA wal_autocheckpoint=0")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(connection: Connection) -> None:
        connection.exec_driver_sql(begin)

    return engine


def _ping_when_idle(engine: Engine) -> None:
    """Ping a connection that comes out of the pool after ``IDLE_PING_SECONDS`` unused; a
    dead one is replaced before the caller sees it (SQLAlchemy's custom pessimistic
    disconnect handling). A connection in steady use goes out without a round trip."""

    @event.listens_for(engine, "checkin")
    def _on_checkin(_dbapi_connection: Any, record: Any) -> None:
        record.info["idle_since"] = time.monotonic()

    @event.listens_for(engine, "checkout")
    def _on_checkout(dbapi_connection: Any, record: Any, _proxy: Any) -> None:
        idle_since = record.info.get("idle_since")
        if idle_since is None or time.monotonic() - idle_since < IDLE_PING_SECONDS:
            return
        try:
            with dbapi_connection.cursor() as cursor:
                cursor.execute("SELECT 1")
            # COMMIT, not ROLLBACK: psycopg drops its prepared statements at every ROLLBACK.
            dbapi_connection.commit()
        except Exception as exc:
            raise sa.exc.DisconnectionError(f"idle connection is gone: {exc}") from exc


def _without_jit(engine: Engine) -> None:
    """Turn PostgreSQL's JIT compilation off for segmentd's sessions. It starts on a
    statement's estimated cost, and a build chunk or a count with segment subplans passes
    that estimate while running in tens of milliseconds: compiling took longer than the
    query (see docs/performance.md)."""

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        with dbapi_connection.cursor() as cursor:
            cursor.execute("SET jit = off")
        dbapi_connection.commit()


class Database:
    """One database: ``write()`` and ``read()`` open a transaction and commit on success."""

    def __init__(
        self,
        url: str,
        background_checkpoints: bool = False,
        sqlite_busy_ms: int = SQLITE_BUSY_TIMEOUT_MS,
        analytics_outbox: bool = False,
    ) -> None:
        """``sqlite_busy_ms``: how long a SQLite transaction waits for a lock another
        process holds before it fails (``DatabaseUnavailable``). ``analytics_outbox``: write
        transactions record their changes for the analytics copy (``analytics_outbox``)."""
        self.url = normalize_url(url)
        self.is_sqlite = is_sqlite(self.url)
        self._checkpointer: _Checkpointer | None = None
        self._turns: WriteTurns | None = None
        self.read_engine: Engine
        if self.is_sqlite:
            self._turns = WriteTurns(sqlite_busy_ms / 1000)
            self.write_engine = _sqlite_engine(
                self.url,
                "BEGIN IMMEDIATE",
                autocheckpoint=not background_checkpoints,
                busy_ms=sqlite_busy_ms,
            )
            self.read_engine = _sqlite_engine(
                self.url, "BEGIN", busy_ms=sqlite_busy_ms
            ).execution_options(**{READER_OPTION: True})
            if background_checkpoints:
                self._checkpointer = _Checkpointer(self.write_engine.url.database or "")
        else:
            self.write_engine = sa.create_engine(self.url, pool_size=10, max_overflow=20)
            _ping_when_idle(self.write_engine)
            _without_jit(self.write_engine)
            prepare_when_marked(self.write_engine)
            self.read_engine = self.write_engine
        if analytics_outbox:
            # Seen by every statement's connection: storage asks it before writing a row.
            self.write_engine = self.write_engine.execution_options(**{outbox_option: True})

    @contextmanager
    def write(self) -> Iterator[Connection]:
        """A write transaction, committed when the block ends without an exception.

        A lost connection raises ``DatabaseUnavailable``. When COMMIT itself fails that way
        the outcome is resolved on a fresh connection (PostgreSQL: the transaction id read
        just before COMMIT, then ``pg_xact_status``): a commit that landed counts as done.
        On SQLite the process's writers first wait for their turn (``write_turns``).
        """
        with self._turn(), _unavailable_on_fault(), self.write_engine.connect() as connection:
            transaction = connection.begin()
            try:
                yield connection
            except BaseException:
                transaction.rollback()
                raise
            # The membership history the transaction staged, stored as its last step.
            change_log.flush(connection)
            woken = wakeups.taken(connection)  # a rollback below leaves them unsent
            self._commit(connection, transaction)
        note_commit()
        wakeups.send(woken)

    @contextmanager
    def _turn(self) -> Iterator[None]:
        if self._turns is None:
            yield
            return
        with self._turns.turn():
            yield

    @contextmanager
    def read(self) -> Iterator[Connection]:
        with _unavailable_on_fault(), self.read_engine.begin() as connection:
            yield connection

    def _commit(self, connection: Connection, transaction: sa.RootTransaction) -> None:
        xid = None
        if not self.is_sqlite:
            xid = transaction_ids.known(connection)
            xid = xid or connection.exec_driver_sql(CURRENT_XID).scalar()
        try:
            transaction.commit()
        except (sa.exc.DBAPIError, sa.exc.DisconnectionError) as exc:
            if self.is_sqlite or not connection_lost(exc):
                # The database answered: the transaction is rolled back (SQLite may say
                # nothing certain about an I/O error during its commit).
                applied = False if not self.is_sqlite or _sqlite_busy(exc) else None
                if is_transient(exc):
                    raise DatabaseUnavailable(str(exc), applied=applied) from exc
                raise
            if xid is None:
                return  # it had written nothing: nothing to lose
            outcome = commit_outcome(self.write_engine, str(xid))
            log.warning("connection lost during COMMIT of transaction %s: %s", xid, outcome)
            if outcome == "committed":
                return
            applied = False if outcome == "aborted" else None
            raise DatabaseUnavailable("connection lost during COMMIT", applied=applied) from exc

    @contextmanager
    def snapshot(self) -> Iterator[Connection]:
        """A read transaction that sees one state of the database throughout.

        SQLite's read transactions already do (WAL snapshot); PostgreSQL needs REPEATABLE READ.
        """
        if self.is_sqlite:
            with self.read() as connection:
                yield connection
            return
        with _unavailable_on_fault(), self.read_engine.connect() as connection:
            connection.execution_options(isolation_level="REPEATABLE READ")
            with connection.begin():
                yield connection

    def migrate(self) -> None:
        from .migrate import upgrade

        upgrade(self.url, self.write_engine)

    def dispose(self) -> None:
        if self._checkpointer is not None:
            self._checkpointer.stop()
        self.write_engine.dispose()
        if self.read_engine is not self.write_engine:
            self.read_engine.dispose()


@contextmanager
def _unavailable_on_fault() -> Iterator[None]:
    """A transient fault (see ``faults.is_transient``) before COMMIT: nothing was applied."""
    try:
        yield
    except (sa.exc.DBAPIError, sa.exc.TimeoutError, sa.exc.DisconnectionError) as exc:
        if not is_transient(exc):
            raise
        cause = type(getattr(exc, "orig", None) or exc).__name__
        raise DatabaseUnavailable(f"database unavailable ({cause})") from exc


def _sqlite_busy(exc: BaseException) -> bool:
    name = getattr(getattr(exc, "orig", None), "sqlite_errorname", "")
    return bool(name.startswith(("SQLITE_BUSY", "SQLITE_LOCKED")))


def commit_outcome(engine: Engine, xid: str) -> str | None:
    """What PostgreSQL says became of transaction ``xid`` ('committed', 'aborted' or
    'in progress'), asked on a fresh connection; None when it cannot be asked."""
    try:
        with engine.connect() as connection:
            status = connection.execute(
                sa.text("SELECT pg_xact_status(CAST(:xid AS xid8))"), {"xid": xid}
            ).scalar()
    except sa.exc.SQLAlchemyError:
        log.warning("could not ask the outcome of transaction %s", xid, exc_info=True)
        return None
    return str(status) if status is not None else None


class _Checkpointer:
    """Checkpoints a SQLite database every ``CHECKPOINT_SECONDS`` on its own connection.

    PASSIVE: it copies what no reader still needs and never blocks readers or the writer.
    """

    def __init__(self, path: str) -> None:
        self._path = path
        self._stop = threading.Event()
        self._thread = threading.Thread(
            target=self._run, name="segmentd-sqlite-checkpoint", daemon=True
        )
        self._thread.start()

    def _run(self) -> None:
        connection = sqlite3.connect(self._path, timeout=SQLITE_BUSY_TIMEOUT_MS / 1000)
        try:
            while not self._stop.wait(CHECKPOINT_SECONDS):
                try:
                    connection.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchall()
                except sqlite3.Error:
                    log.exception("WAL checkpoint failed; the next one retries")
        finally:
            connection.close()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=10)
