"""SQLite write transactions of one process take turns in the order they asked.

SQLite runs one write transaction at a time, and a writer that finds the database locked
polls: its busy handler sleeps between tries, up to 100 ms at a time. A writer that commits
and begins again at once (an import's chunks, a build's ranges) wins nearly every race
against a request that polls, which can then wait out its whole busy timeout. Queueing the
process's writers first bounds a request's wait by the transactions ahead of it. Other
processes (a separate worker) still meet SQLite's own lock and busy timeout.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager

from .faults import DatabaseUnavailable


class WriteTurns:
    """A first-come, first-served lock: tickets served in order, a ticket given up (timeout,
    interrupt) skipped."""

    def __init__(self, timeout_s: float) -> None:
        self._timeout_s = timeout_s
        self._changed = threading.Condition()
        self._issued = 0
        self._serving = 0
        self._given_up: set[int] = set()

    @contextmanager
    def turn(self) -> Iterator[None]:
        self._wait_for(self._take_ticket())
        try:
            yield
        finally:
            with self._changed:
                self._advance()

    def _take_ticket(self) -> int:
        with self._changed:
            ticket = self._issued
            self._issued += 1
            return ticket

    def _wait_for(self, ticket: int) -> None:
        with self._changed:
            try:
                served = self._changed.wait_for(lambda: self._serving == ticket, self._timeout_s)
            except BaseException:
                self._give_up(ticket)
                raise
            if not served:
                self._give_up(ticket)
                raise DatabaseUnavailable("database unavailable (waited for the write lock)")

    def _give_up(self, ticket: int) -> None:
        if self._serving == ticket:  # served just as it stopped waiting: pass it on
            self._advance()
        else:
            self._given_up.add(ticket)

    def _advance(self) -> None:
        self._serving += 1
        while self._serving in self._given_up:
            self._given_up.remove(self._serving)
            self._serving += 1
        self._changed.notify_all()
