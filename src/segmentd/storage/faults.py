"""Database faults that are nobody's input: a lost connection, a database that is down,
locked or out of disk. ``Database`` turns them into ``DatabaseUnavailable``, saying whether
the transaction certainly did not commit, so the API can retry it or answer 503.

``start_commit_journal()`` lets a caller (the API, per request) know whether any transaction
committed while it ran: a request that failed before any commit changed nothing and may be
run again.
"""

from __future__ import annotations

import sqlite3
from contextvars import ContextVar, Token
from dataclasses import dataclass

import sqlalchemy as sa

# PostgreSQL SQLSTATE classes of faults that say nothing about the request: connection
# exception, insufficient resources, operator intervention (shutdown, cancel), system error,
# and transaction rollback (serialization failure, deadlock: the transaction is undone).
_PG_TRANSIENT_CLASSES = frozenset({"08", "40", "53", "57", "58"})
_SQLITE_TRANSIENT = (
    "SQLITE_BUSY",
    "SQLITE_LOCKED",
    "SQLITE_IOERR",
    "SQLITE_FULL",
    "SQLITE_CANTOPEN",
)


class DatabaseUnavailable(Exception):
    """The database could not serve a transaction.

    ``applied`` is False when the transaction certainly did not commit (it failed before
    COMMIT, or the database says it aborted), None when nobody can tell.
    """

    def __init__(self, message: str, *, applied: bool | None = False) -> None:
        super().__init__(message)
        self.applied = applied


def is_transient(exc: BaseException) -> bool:
    """True for a fault of the database or the connection to it, not of the statement."""
    if isinstance(exc, sa.exc.TimeoutError | sa.exc.DisconnectionError):
        return True  # no pooled connection in time, or none could be made
    if not isinstance(exc, sa.exc.DBAPIError):
        return False
    if exc.connection_invalidated:
        return True
    orig = exc.orig
    if isinstance(orig, sqlite3.Error):
        name = getattr(orig, "sqlite_errorname", "")
        return name.startswith(_SQLITE_TRANSIENT)
    sqlstate = getattr(orig, "sqlstate", None)
    if sqlstate:
        return str(sqlstate)[:2] in _PG_TRANSIENT_CLASSES
    # psycopg gives no SQLSTATE when the server never answered (refused, reset, closed).
    return isinstance(exc, sa.exc.OperationalError)


def connection_lost(exc: BaseException) -> bool:
    """True when the server may never have seen (or answered) the last statement."""
    if not isinstance(exc, sa.exc.DBAPIError):
        return isinstance(exc, sa.exc.DisconnectionError)
    if exc.connection_invalidated:
        return True
    sqlstate = getattr(exc.orig, "sqlstate", None)
    return not sqlstate or str(sqlstate)[:2] == "08" or str(sqlstate).startswith("57P")


@dataclass
class CommitJournal:
    """Whether any write transaction committed while it was being tracked."""

    committed: bool = False


_journal: ContextVar[CommitJournal | None] = ContextVar("segmentd_commit_journal", default=None)


def start_commit_journal() -> tuple[CommitJournal, Token[CommitJournal | None]]:
    """Record the commits made from here on in this context (and in threads started with
    a copy of it) until ``stop_commit_journal``."""
    journal = CommitJournal()
    return journal, _journal.set(journal)


def stop_commit_journal(token: Token[CommitJournal | None]) -> None:
    _journal.reset(token)


def note_commit() -> None:
    journal = _journal.get()
    if journal is not None:
        journal.committed = True
