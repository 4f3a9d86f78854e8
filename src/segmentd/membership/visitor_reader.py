"""The look-up's database reads, without per-request session machinery.

Look-ups that arrive together travel together, and the visitors of one site in a batch are
read together: one statement finds their member ids, one more (skipped when none is known)
their segments (``membership.lookup_queries``).

On SQLite (``inline``) the batch is the look-ups of one turn of the event loop, read on the
loop's own thread once the turn's requests have been parsed: the reads take tens of
microseconds, less than handing them to a thread and back, and a reader thread that wants
the interpreter lock back after each read waits for the busy loop (up to the 5 ms switch
interval). On PostgreSQL a read waits for the network, so reader threads do it: while they
are busy, new look-ups wait, then leave as one batch; alone, a look-up leaves at once.

Each reader thread (or the loop's thread) keeps its own DBAPI connection in autocommit mode:
one SELECT is one consistent snapshot, so there are no BEGIN/COMMIT round trips, no pool
checkout and no SQLAlchemy result objects. Statements are compiled once per batch size
(powers of two, the last visitor repeated to fill), so the database's statement cache stays
small.
"""

from __future__ import annotations

import asyncio
import contextlib
import threading
from collections import defaultdict, deque
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import sqlalchemy as sa

from ..storage.db import Database
from ..storage.sites import Site
from .lookup_queries import (
    lookup_params,
    member_segments_query,
    segments_by_visitor,
    split_pairs,
    visitor_members_query,
)

READER_THREADS = 2
MAX_BATCH = 64  # visitors per statement

_Wanted = tuple[Site, str, "asyncio.Future[list[str]]"]


def _bucket(count: int) -> int:
    size = 1
    while size < count:
        size *= 2
    return size


class _Statement:
    """A look-up query for ``size`` keys, compiled for one dialect."""

    def __init__(self, db: Database, query: sa.Select[Any], size: int) -> None:
        compiled = query.compile(dialect=db.read_engine.dialect)
        self.size = size
        self.sql = compiled.string
        self.defaults = dict(compiled.params)
        self.order = compiled.positiontup if compiled.positional else None

    def params(self, site: Site, keys: Sequence[Any]) -> Any:
        padded = [*keys, *[keys[-1]] * (self.size - len(keys))]
        values = {**self.defaults, **lookup_params(site, padded)}
        return tuple(values[name] for name in self.order) if self.order else values


class VisitorReader:
    """The segments of a site's visitors, for the look-up (``interface.LookupReader``)."""

    def __init__(
        self, db: Database, threads: int = READER_THREADS, inline: bool | None = None
    ) -> None:
        self.db = db
        self.inline = db.is_sqlite if inline is None else inline
        self._flush_loop: asyncio.AbstractEventLoop | None = None  # inline: a flush is due
        sizes = _sizes(MAX_BATCH)
        self._visitors = {n: _Statement(db, visitor_members_query(n), n) for n in sizes}
        self._segments = {n: _Statement(db, member_segments_query(n), n) for n in sizes}
        self._local = threading.local()
        self._connections: list[Any] = []
        self._lock = threading.Lock()
        self._threads = threads
        self._executor = ThreadPoolExecutor(threads, thread_name_prefix="segmentd-lookup")
        self._waiting: deque[_Wanted] = deque()
        self._in_flight = 0  # batches handed to reader threads (event loop side only)

    # --- event loop side ---

    async def segment_ids(self, site: Site, tcid: str) -> list[str]:
        loop = asyncio.get_running_loop()
        future: asyncio.Future[list[str]] = loop.create_future()
        self._waiting.append((site, tcid, future))
        if not self.inline:
            self._dispatch(loop)
        elif self._flush_loop is not loop:
            self._flush_loop = loop
            loop.call_soon(self._flush)
        return await future

    def _flush(self) -> None:
        """Inline mode: read every waiting look-up on the loop's own thread, in batches."""
        self._flush_loop = None
        while self._waiting:
            size = min(len(self._waiting), MAX_BATCH)
            batch = [self._waiting.popleft() for _ in range(size)]
            self._settle(batch, self._outcomes(batch))

    def _dispatch(self, loop: asyncio.AbstractEventLoop) -> None:
        while self._waiting and self._in_flight < self._threads:
            size = min(len(self._waiting), MAX_BATCH)
            batch = [self._waiting.popleft() for _ in range(size)]
            self._in_flight += 1
            self._executor.submit(self._read_batch, loop, batch)

    def _deliver(
        self, loop: asyncio.AbstractEventLoop, batch: list[_Wanted], outcomes: list[Any]
    ) -> None:
        self._in_flight -= 1
        self._settle(batch, outcomes)
        self._dispatch(loop)

    def _settle(self, batch: list[_Wanted], outcomes: list[Any]) -> None:
        for (_site, _tcid, future), outcome in zip(batch, outcomes, strict=True):
            if future.done():  # the client went away
                continue
            if isinstance(outcome, BaseException):
                future.set_exception(outcome)
            else:
                future.set_result(outcome)

    # --- reader thread side ---

    def _read_batch(self, loop: asyncio.AbstractEventLoop, batch: list[_Wanted]) -> None:
        """Read every look-up of the batch, then wake the loop once."""
        outcomes = self._outcomes(batch)
        with contextlib.suppress(RuntimeError):  # the loop closed: nobody is waiting
            loop.call_soon_threadsafe(self._deliver, loop, batch, outcomes)

    def _outcomes(self, batch: list[_Wanted]) -> list[Any]:
        """Segment ids (or the error) of every look-up of the batch, one statement per site."""
        by_site: dict[Site, list[int]] = defaultdict(list)
        for index, (site, _tcid, _future) in enumerate(batch):
            by_site[site].append(index)
        outcomes: list[Any] = [None] * len(batch)
        for site, indexes in by_site.items():
            tcids = [batch[index][1] for index in indexes]
            try:
                found: dict[str, list[str]] | BaseException = self.read(site, tcids)
            except Exception as exc:  # handed to the awaiting requests, which answer 503
                found = exc
            for index, tcid in zip(indexes, tcids, strict=True):
                outcomes[index] = found if isinstance(found, BaseException) else found.get(tcid, [])
        return outcomes

    def read(self, site: Site, tcids: Sequence[str]) -> dict[str, list[str]]:
        """{tcid: segment ids} for up to ``MAX_BATCH`` visitors of ``site``."""
        try:
            return self._read(site, tcids)
        except self._dbapi_errors():
            self._drop_connection()  # a server restart or a dropped socket: retry once
            return self._read(site, tcids)

    def _read(self, site: Site, tcids: Sequence[str]) -> dict[str, list[str]]:
        visitors = split_pairs(self._run(self._visitors[_bucket(len(tcids))], site, tcids))
        if not visitors:
            return {}
        member_ids = [member_id for member_id, _tcid in visitors]
        memberships = self._run(self._segments[_bucket(len(member_ids))], site, member_ids)
        return segments_by_visitor(visitors, split_pairs(memberships))

    def _run(self, statement: _Statement, site: Site, keys: Sequence[Any]) -> str | None:
        """The one value of the statement's one row."""
        cursor = self._connection().cursor()
        try:
            cursor.execute(statement.sql, statement.params(site, keys))
            row = cursor.fetchone()
            return row[0] if row else None
        finally:
            cursor.close()

    def _connection(self) -> Any:
        connection = getattr(self._local, "connection", None)
        if connection is None:
            # Detached from the pool: this thread owns it (the engine's connect hooks ran).
            connection = self.db.read_engine.raw_connection()
            connection.detach()
            dbapi_connection = connection.dbapi_connection
            if not self.db.is_sqlite and dbapi_connection is not None:
                dbapi_connection.autocommit = True
            self._local.connection = connection
            with self._lock:
                self._connections.append(connection)
        return connection

    def _drop_connection(self) -> None:
        connection = getattr(self._local, "connection", None)
        self._local.connection = None
        if connection is not None:
            with self._lock:
                self._connections.remove(connection)
            _close_quietly(connection)

    def _dbapi_errors(self) -> type[Exception]:
        error: type[Exception] = self.db.read_engine.dialect.loaded_dbapi.Error
        return error

    def close(self) -> None:
        self._executor.shutdown(wait=True)
        with self._lock:
            for connection in self._connections:
                _close_quietly(connection)
            self._connections.clear()


def _sizes(largest: int) -> list[int]:
    return [1 << power for power in range(largest.bit_length()) if 1 << power <= largest]


def _close_quietly(connection: Any) -> None:
    # Closing a broken connection must not hide the original problem.
    with contextlib.suppress(Exception):
        connection.close()
