"""The PostgreSQL transaction id of a write transaction, when a statement already read it.

``Database.write`` reads the id just before COMMIT, so a COMMIT whose answer is lost can be
resolved (``db.commit_outcome``). A writer whose first statement locks a row has an id from
then on, and can read it in that statement (``write_lock``): the round trip before COMMIT is
saved. The id is forgotten when the transaction ends, whichever way.
"""

from __future__ import annotations

from sqlalchemy.engine import Connection

from . import transaction_info

_KEY = "segmentd.transaction_id"


def remember(conn: Connection, xid: str) -> None:
    """``xid``: the id of the transaction ``conn`` is in (``pg_current_xact_id``)."""
    conn.info[_KEY] = xid


def known(conn: Connection) -> str | None:
    """The id remembered for the transaction ``conn`` is in, if any."""
    found: str | None = conn.info.get(_KEY)
    return found


transaction_info.forget_when_ended(_KEY)
