"""Counts summed over statements run side by side: on the caller's connection and on a
helper connection that reads what the caller's transaction reads.

A count over a million members is one core's work per statement; cut in ranges, two
connections count it in about half the time. The helper must see the caller's data:

- PostgreSQL: it imports the caller's snapshot (``pg_export_snapshot``), so both read one
  state, exactly. Not when the caller's transaction has written (its own changes are not in
  the snapshot it exports).
- SQLite: only a connection of the read engine is helped (it never writes). A helper's WAL
  snapshot starts with its first read, a moment later than the caller's, so only statements
  whose answer for a member depends on that member's own rows are run beside it
  (``same_snapshot`` False): each member is then counted once, as of one of two moments.
"""

from __future__ import annotations

import threading
from collections import deque
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import AbstractContextManager, contextmanager
from typing import Any

from sqlalchemy.engine import Connection

READER_OPTION = "segmentd_reader"  # on the SQLite read engine: its connections never write
HELPERS = 1  # helper connections per count: two cores, the caller's and one more

_pool = ThreadPoolExecutor(HELPERS, thread_name_prefix="segmentd-count-helper")

Opener = Callable[[], AbstractContextManager[Connection]]


def sum_side_by_side(conn: Connection, statements: Sequence[Any], same_snapshot: bool) -> int:
    """The sum of the scalar ``statements``, each run once on ``conn`` or on a helper. A
    statement may be given as a function making it, called by the thread that runs it (so
    that building one overlaps the other thread's counting; it must not use ``conn``).

    ``same_snapshot``: the statements must read exactly the caller's state (for instance
    rows of a generation that a later state may have deleted)."""
    left = deque(statements)
    opener = _helper(conn, same_snapshot) if len(left) > 1 else None
    if opener is None:
        return _drain(conn, left, threading.Event())
    stop = threading.Event()
    helped = _pool.submit(_drain_in, opener, left, stop)
    try:
        mine = _drain(conn, left, stop)
    finally:
        stop.set()
        theirs = helped.result()
    return mine + theirs


def _drain(conn: Connection, left: deque[Any], stop: threading.Event) -> int:
    total = 0
    while not stop.is_set():
        try:
            statement = left.popleft()
        except IndexError:
            break
        if callable(statement):
            statement = statement()
        total += int(conn.execute(statement).scalar_one())
    return total


def _drain_in(opener: Opener, left: deque[Any], stop: threading.Event) -> int:
    if stop.is_set() or not left:
        return 0  # the caller was done before this thread was free
    with opener() as helper:
        return _drain(helper, left, stop)


def _helper(conn: Connection, same_snapshot: bool) -> Opener | None:
    if conn.dialect.name == "postgresql":
        return _postgres_helper(conn)
    if same_snapshot or not conn.get_execution_options().get(READER_OPTION):
        return None
    engine = conn.engine

    @contextmanager
    def opened() -> Iterator[Connection]:
        with engine.begin() as helper:
            yield helper

    return opened


def _postgres_helper(conn: Connection) -> Opener | None:
    if conn.exec_driver_sql("SELECT pg_current_xact_id_if_assigned()").scalar() is not None:
        return None  # it has written: a helper would not see its changes
    snapshot = str(conn.exec_driver_sql("SELECT pg_export_snapshot()").scalar_one())
    engine = conn.engine

    @contextmanager
    def opened() -> Iterator[Connection]:
        with engine.connect() as helper:
            helper.execution_options(isolation_level="REPEATABLE READ")
            with helper.begin():
                helper.exec_driver_sql(f"SET TRANSACTION SNAPSHOT '{snapshot}'")
                yield helper

    return opened
