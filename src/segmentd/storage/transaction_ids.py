"""The PostgreSQL transaction id of a write transaction, when a statement already read it.

``Database.write`` reads the id just before COMMIT, so a COMMIT whose answer is lost can be
resolved (``db.commit_outcome``). A writer whose first statement locks a row has an id from
then on, and can read it in that statement (``write_lock``): the round trip before COMMIT is
saved. The id is forgotten when the transaction ends, whichever way.
"""

from __future__ import annotations

from sqlalchemy import event
from sqlalchemy.engine import Connection, Engine

_KEY = "segmentd.transaction_id"


def remember(conn: Connection, xid: str) -> None:
    """``xid``: the id of the transaction ``conn`` is in (``pg_current_xact_id``)."""
    conn.info[_KEY] = xid


def known(conn: Connection) -> str | None:
    """The id remembered for the transaction ``conn`` is in, if any."""
    found: str | None = conn.info.get(_KEY)
    return found


def _forget(conn: Connection) -> None:
    # A lost connection has nothing to forget (see ``change_log.discard``).
    if not (conn.invalidated or conn.closed):
        conn.info.pop(_KEY, None)


@event.listens_for(Engine, "commit")
def _on_commit(conn: Connection) -> None:
    _forget(conn)


@event.listens_for(Engine, "rollback")
def _on_rollback(conn: Connection) -> None:
    _forget(conn)
