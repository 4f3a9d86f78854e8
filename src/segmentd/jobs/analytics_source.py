"""The analytics back-end as builds and previews use it: bring a tenant's ClickHouse copy up
to date with the system of record, then select (a build: one member range at a time) or count
the members a condition holds for.

Chosen once per process from ``SEGMENTD_ANALYTICS_URL`` (``analytics_source``): None when it
is unset, and every caller then runs on SQLite or PostgreSQL as before. The copy is brought
up to date before each question (``sync``): a tenant never loaded is loaded whole
(``full_load``); after that only its waiting outbox rows are applied (``outbox_apply``, in
batches, idempotent, resumable), and a segment the condition refers to is copied when its
published membership moved since its copy (a new generation, or a change recorded in the
membership history: ``segment_copy``). The same tables and the same read path on the
embedded engine and on a cluster.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from functools import cache

from ..analytics.clickhouse_compiler import difference_query, each_query, members_query
from ..analytics.clickhouse_schema import SEGMENT_COPIES, SEGMENT_MEMBERS
from ..analytics.clickhouse_sql.ch_leaf_compiler import number
from ..analytics.engine import engine_failures, shared_engine
from ..analytics.full_load import Target, load_tenant
from ..analytics.outbox_apply import DEFAULT_BATCH, Applied, drain
from ..analytics.read_point import ReadPoint, SegmentCopy, read_point
from ..analytics.segment_copy import advance_copy, copy_segment, drop_older_copies
from ..analytics.versions import next_version
from ..database_urls import AnalyticsTarget
from ..domain.condition_types.leaf_types import inputs
from ..domain.condition_types.segment_leaf import SegmentCondition, SegmentOp
from ..domain.conditions import Condition, Group
from ..domain.operators import Relation
from ..membership import Rebuilt, store
from ..storage import analytics_outbox as outbox
from ..storage.change_log import last_change
from ..storage.db import Database
from ..storage.faults import DatabaseUnavailable
from ..storage.segments import Segment, get_segment, published_generations

log = logging.getLogger("segmentd.analytics")

# Members per insert when a segment's membership is copied whole (an insert costs a round
# trip to every shard: 10,000 per insert spent a third of a copy on them).
COPY_BATCH = 100_000
# A rebuild in place naming more members than this leaves its segment's copy to the next
# sync (copied whole): the members named go into the statement's text.
ADVANCE_LIMIT = 50_000


@dataclass(frozen=True)
class Selected:
    """The members a condition holds for, and the time (epoch s) up to which the copy they
    were read from held every change of the system of record. The whole set at once: for
    comparisons (bench/analytics_build.py); a build streams (``Streamed``)."""

    ids: frozenset[int]
    fresh_as_of: int

    def ids_in(self, lo: int, hi: int) -> frozenset[int]:
        return frozenset(i for i in self.ids if lo < i <= hi)


@dataclass(frozen=True)
class Streamed:
    """A condition answered on the copy chunk by chunk (``ids_in``): the copy synced once,
    at ``fresh_as_of`` (epoch s), and each range read when a build fills it, so a worker
    holds one chunk's ids. Each range reads the copy as it is then (docs/analytics.md,
    "Builds stream by member range": why not a pinned version)."""

    source: AnalyticsSource
    tenant_id: int
    list_id: int
    condition: Condition
    fresh_as_of: int

    def ids_in(self, lo: int, hi: int) -> frozenset[int]:
        return self.source.select_range(self.tenant_id, self.list_id, self.condition, lo, hi)


@dataclass(frozen=True)
class Difference:
    """A condition's answer against a segment's copied membership: who would enter and who
    would leave, as the copy read at ``point`` says."""

    entered: frozenset[int]
    left: frozenset[int]
    point: ReadPoint


@dataclass(frozen=True)
class Synced:
    """What a ``sync`` did: a full load (a tenant never loaded) or the outbox rows applied,
    and the segments whose membership it copied; the copy holds every change committed
    before ``fresh_as_of`` (epoch s)."""

    fresh_as_of: int
    full_load: bool = False
    applied: Applied = field(default_factory=Applied)
    copied: tuple[str, ...] = ()


class AnalyticsSource:
    """One ClickHouse copy (``target``) of the system of record, for builds and previews."""

    def __init__(self, open_target: Callable[[], Target], batch: int = DEFAULT_BATCH) -> None:
        self._open_target = open_target
        self._target: Target | None = None
        self._opening = threading.Lock()
        self._created = False
        self.batch = batch  # outbox rows per drain batch
        self._last: dict[int, Synced] = {}
        # One sync of a tenant at a time (the drain's rule); chdb serves one query at a time.
        self._lock = threading.Lock()

    @property
    def target(self) -> Target:
        """The copy, opened at first use: a ClickHouse down when the process starts fails
        the first build (retried), not the start."""
        with self._opening:
            if self._target is None:
                self._target = self._open_target()
            return self._target

    def sync(self, db: Database, tenant_id: int, segments: frozenset[str] = frozenset()) -> Synced:
        """Bring the tenant's copy up to date (its outbox rows, and the published membership
        of ``segments``)."""
        with self._lock:
            target = self.target
            if not self._created:
                target.layout.create(target.engine, target.database)
                self._created = True
            # Before reading the outbox: every change committed before it is then taken.
            started = int(time.time())
            if read_point(target.engine, target.database, tenant_id).floor == 0:
                return self._load(db, tenant_id, started)
            with db.read() as conn:
                upto = outbox.last_seq(conn, tenant_id)
            applied = (
                Applied()
                if upto is None
                else drain(db, target, batch=self.batch, tenant_id=tenant_id, upto=upto)
            )
            copied = self._copy_segments(db, tenant_id, segments)
            if applied.outbox_rows or copied:
                log.info(
                    "tenant %s: %s outbox rows applied to the analytics copy %s, segments "
                    "copied %s",
                    tenant_id,
                    applied.outbox_rows,
                    applied.written,
                    list(copied),
                )
            synced = Synced(started, applied=applied, copied=copied)
            self._last[tenant_id] = synced
            return synced

    def _load(self, db: Database, tenant_id: int, started: int) -> Synced:
        with db.read() as conn:
            waiting = outbox.seqs_of(conn, tenant_id)
        rows = load_tenant(db, self.target, store().member_ids, tenant_id)
        if waiting:  # changes older than the load's snapshot: it holds them
            with db.write() as conn:
                outbox.remove(conn, waiting)
        log.info("tenant %s loaded into the analytics copy: %s", tenant_id, rows)
        self._last[tenant_id] = Synced(started, full_load=True)
        return self._last[tenant_id]

    def last_synced(self, tenant_id: int) -> Synced | None:
        """What the tenant's last sync in this process did (for logs and tests)."""
        return self._last.get(tenant_id)

    def _copy_segments(
        self, db: Database, tenant_id: int, wanted: frozenset[str]
    ) -> tuple[str, ...]:
        """Copy the membership of each of ``wanted`` the copy does not hold as published now:
        a publish since (a new generation), a change the real-time path or a hand edit made
        to the published generation (a newer ``history_blocks`` seq), or never copied."""
        if not wanted:
            return ()
        target = self.target
        copies = read_point(target.engine, target.database, tenant_id).copies
        copied = []
        with db.snapshot() as conn:
            for segment_id, generation in sorted(
                published_generations(conn, tenant_id, wanted).items()
            ):
                segment = get_segment(conn, tenant_id, segment_id)
                if segment is None:
                    continue
                have = copies.get(segment_id)
                changed = last_change(conn, tenant_id, segment.number)
                if have is not None and (have.generation, have.history_seq) == (
                    generation,
                    changed,
                ):
                    continue
                copy_id = next_version(target.engine, target.database, tenant_id)
                copy_segment(conn, target, store().member_ids, segment, copy_id, batch=COPY_BATCH)
                for table in (SEGMENT_MEMBERS, SEGMENT_COPIES):
                    drop_older_copies(target, tenant_id, copy_id, table, "copy_id", segment_id)
                copied.append(segment_id)
        return tuple(copied)

    def drain(self, db: Database) -> dict[int, int]:
        """Bring every tenant with outbox rows up to date; {tenant: fresh as of}."""
        with db.read() as conn:
            tenants = outbox.tenants_waiting(conn)
        return {tenant_id: self.sync(db, tenant_id).fresh_as_of for tenant_id in tenants}

    def _query(
        self,
        tenant_id: int,
        list_id: int,
        condition: Condition,
        members: tuple[int, int] | None = None,
    ) -> tuple[str, dict[str, object]]:
        target = self.target
        point = read_point(target.engine, target.database, tenant_id)
        query = members_query(condition, tenant_id, target.database, point, list_id, members)
        return query.sql, query.params

    def select(self, db: Database, tenant_id: int, list_id: int, condition: Condition) -> Selected:
        """The list's members the condition holds for, on the current copy, all at once."""
        fresh = self.sync(db, tenant_id, frozenset(inputs(condition).segments)).fresh_as_of
        with self._lock:
            sql, params = self._query(tenant_id, list_id, condition)
            rows = self.target.engine.rows(sql, params)
        return Selected(frozenset(int(row[0]) for row in rows), fresh)

    def stream(self, db: Database, tenant_id: int, list_id: int, condition: Condition) -> Streamed:
        """Sync the copy once, then answer the condition one member range at a time."""
        fresh = self.sync(db, tenant_id, frozenset(inputs(condition).segments)).fresh_as_of
        return Streamed(self, tenant_id, list_id, condition, fresh)

    def select_range(
        self, tenant_id: int, list_id: int, condition: Condition, lo: int, hi: int
    ) -> frozenset[int]:
        """The list's members with ids in (lo, hi] the condition holds for, on the copy as it
        is now (no sync: the build synced when it started)."""
        with self._lock:  # the read point and the query together: no copy replaced between
            sql, params = self._query(tenant_id, list_id, condition, (lo, hi))
            rows = self.target.engine.rows(sql, params)
        return frozenset(int(row[0]) for row in rows)

    def select_each(
        self,
        tenant_id: int,
        list_id: int,
        conditions: Mapping[str, Condition],
        lo: int,
        hi: int,
    ) -> tuple[dict[str, frozenset[int]], ReadPoint]:
        """For each key's condition, the list's members with ids in (lo, hi] it holds for,
        all in one query on the copy as it is now (no sync: the caller synced), and the read
        point that query read."""
        keys = sorted(conditions)
        with self._lock:
            target = self.target
            point = read_point(target.engine, target.database, tenant_id)
            listed = [conditions[key] for key in keys]
            query = each_query(listed, tenant_id, target.database, point, list_id, (lo, hi))
            rows = target.engine.rows(query.sql, query.params)
        found: dict[str, set[int]] = {key: set() for key in keys}
        for row in rows:
            for key, flag in zip(keys, row[1:], strict=True):
                if int(flag):
                    found[key].add(int(row[0]))
        return {key: frozenset(ids) for key, ids in found.items()}, point

    def difference(
        self,
        tenant_id: int,
        list_id: int,
        condition: Condition,
        segment_id: str,
        first: Callable[[ReadPoint], None],
    ) -> Difference:
        """The list's members whose answer to the condition differs from the segment's
        copied membership, in one query on the copy as it is now (no sync: the caller
        synced, the segment's own membership included). ``first`` is called with the read
        point before the query, under the lock that keeps it current in this process (a
        caller reads there what the copy may hold older)."""
        with self._lock:
            target = self.target
            point = read_point(target.engine, target.database, tenant_id)
            first(point)
            query = difference_query(
                condition, segment_id, tenant_id, target.database, point, list_id
            )
            rows = target.engine.rows(query.sql, query.params)
        entered = frozenset(int(row[0]) for row in rows if int(row[1]))
        left = frozenset(int(row[0]) for row in rows if not int(row[1]))
        return Difference(entered, left, point)

    def advance(
        self, segment: Segment, read: SegmentCopy, history_seq: int, rebuilt: Rebuilt
    ) -> bool:
        """After a rebuild in place of ``segment`` committed: its copy made current on
        ClickHouse from the copy the rebuild read (``read``) and what the rebuild left of
        the members it was given (the published membership as of ``history_seq``), so the
        next build or reference does not copy it whole again. False when it was left to the
        next sync: too many members named, or a newer copy made meanwhile."""
        if not rebuilt.moved and history_seq == read.history_seq:
            return True  # nothing moved since the copy: it is current as it is
        if len(rebuilt.holding) + len(rebuilt.without) > ADVANCE_LIMIT:
            return False
        with self._lock:
            target = self.target
            newest = read_point(target.engine, target.database, segment.tenant_id).copies
            if newest.get(segment.id) != read:
                return False
            copy_id = next_version(target.engine, target.database, segment.tenant_id)
            moved = (rebuilt.holding, rebuilt.without)
            advance_copy(target, segment, history_seq, (read.copy_id, copy_id), moved)
            for table in (SEGMENT_MEMBERS, SEGMENT_COPIES):
                drop_older_copies(target, segment.tenant_id, copy_id, table, "copy_id", segment.id)
        return True

    def count(self, db: Database, tenant_id: int, list_id: int, condition: Condition) -> int:
        """How many of the list's members the condition holds for, on the current copy."""
        with answered("count"):
            self.sync(db, tenant_id, frozenset(inputs(condition).segments))
            with self._lock:
                sql, params = self._query(tenant_id, list_id, condition)
                rows = self.target.engine.rows(f"SELECT count() FROM ({sql})", params)
        return int(rows[0][0])

    def page(
        self, db: Database, segment: Segment, condition: Condition, offset: int, limit: int
    ) -> tuple[list[int], int]:
        """Ids of one page (by id) of the segment's published members the condition holds
        for, and how many it holds for, on the copy brought up to date first (the segment's
        membership copied as published now)."""
        held = _in_segment(segment.id, condition)
        segments = frozenset({segment.id, *inputs(condition).segments})
        with answered("filter"):
            self.sync(db, segment.tenant_id, segments)
            with self._lock:  # the page and its total read the same copies
                sql, params = self._query(segment.tenant_id, segment.list_id, held)
                total = self.target.engine.rows(f"SELECT count() FROM ({sql})", params)
                page = f"{sql} LIMIT {number(offset)}, {number(limit)}"  # the form 18.16 reads
                rows = self.target.engine.rows(page, params)
        return [int(row[0]) for row in rows], int(total[0][0])


@contextmanager
def answered(question: str) -> Iterator[None]:
    """A request's question to the copy (a count, a filtered page): ClickHouse failing to
    answer is a database that could not serve the request (503 in each API's envelope),
    logged; any other exception stays a fault of ours."""
    try:
        yield
    except engine_failures() as exc:
        log.warning("analytics back-end failed on a %s", question, exc_info=exc)
        message = f"the analytics back-end could not answer the {question}; try again"
        raise DatabaseUnavailable(message, applied=False) from exc


def _in_segment(segment_id: str, condition: Condition) -> Condition:
    """The condition held to the members of the segment's published membership (its copy)."""
    held = SegmentCondition(segment_id=segment_id, op=SegmentOp.IN)
    return Group(Relation.AND, (held, condition))


def _open(target: AnalyticsTarget) -> Target:
    if target.engine == "chdb":
        return Target(shared_engine(target), target.database)
    from ..analytics_cluster.cluster_engine import open_cluster  # needs clickhouse-driver

    cluster = open_cluster(target)
    return Target(cluster, target.database, cluster)


@cache
def _source(target: AnalyticsTarget) -> AnalyticsSource:
    return AnalyticsSource(lambda: _open(target))


def analytics_source(target: AnalyticsTarget | None) -> AnalyticsSource | None:
    """The process's source for ``SEGMENTD_ANALYTICS_URL`` (``Settings.analytics``); None
    when it is unset."""
    return None if target is None else _source(target)
