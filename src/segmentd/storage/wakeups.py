"""Wake-ups sent after a commit to the workers of this process.

A transaction that queues work names its queue (``after_commit``); once ``Database.write``
has committed it, every worker of this process listening on that queue wakes at once instead
of at its next poll. Nothing is sent for a transaction that rolls back, and nothing crosses
processes: workers elsewhere find the work at their next poll, as before. A wake-up is only
a hint, never the record of the work: a worker that misses one still polls.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable

from sqlalchemy.engine import Connection

from . import transaction_info

_PENDING = "segmentd_wakeups"  # in the connection's info: the queues named so far

# Unsent when the transaction ends otherwise than through ``Database.write``'s commit.
transaction_info.forget_when_ended(_PENDING)

_lock = threading.Lock()
_listeners: dict[str, set[threading.Event]] = {}


def after_commit(conn: Connection, queue: str) -> None:
    """Wake the listeners of ``queue`` once this transaction has committed."""
    conn.info.setdefault(_PENDING, set()).add(queue)


def taken(conn: Connection) -> set[str]:
    """The queues this transaction named, forgotten by the connection (which a pool reuses):
    ``Database.write`` sends them once it has committed."""
    return conn.info.pop(_PENDING, set())


def send(queues: Iterable[str]) -> None:
    with _lock:
        woken = [waiting for queue in queues for waiting in _listeners.get(queue, ())]
    for waiting in woken:
        waiting.set()


def listen(queue: str, event: threading.Event) -> None:
    with _lock:
        _listeners.setdefault(queue, set()).add(event)


def stop_listening(queue: str, event: threading.Event) -> None:
    with _lock:
        _listeners.get(queue, set()).discard(event)
