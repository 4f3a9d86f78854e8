"""Values one transaction keeps in its connection's ``info`` dict, dropped when it ends.

``Connection.info`` belongs to the DBAPI connection, which the pool hands to the next
transaction: a value meant for one transaction must go when it commits or rolls back.
"""

from __future__ import annotations

from sqlalchemy import event
from sqlalchemy.engine import Connection, Engine


def forget(conn: Connection, key: str) -> None:
    """Drop ``key`` from the connection's info."""
    # An invalidated connection (lost) has nothing to forget: the pool cleared its info dict,
    # and reading ``conn.info`` would try to reconnect inside the failed transaction
    # (PendingRollbackError), hiding the lost connection from the retry.
    if conn.invalidated or conn.closed:
        return
    conn.info.pop(key, None)


def forget_when_ended(key: str) -> None:
    """Drop ``key`` from a connection's info whenever its transaction commits or rolls back."""

    def ended(conn: Connection) -> None:
        forget(conn, key)

    event.listen(Engine, "commit", ended)
    event.listen(Engine, "rollback", ended)
