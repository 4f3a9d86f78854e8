"""The analytics back-end as builds and previews use it: bring a tenant's ClickHouse copy up
to date with the system of record, then select or count the members a condition holds for.

Chosen once per process from ``SEGMENTD_ANALYTICS_URL`` (``analytics_source``): None when it
is unset, and every caller then runs on SQLite or PostgreSQL as before. The copy is brought
up to date before each question (``sync``): a tenant with outbox rows waiting, or whose
loaded membership of a segment the condition refers to is older than the published one, is
loaded again whole (``full_load``, atomic by load id), and its drained outbox rows deleted.
An incremental drain onto the embedded engine's load-id tables is left for later
(docs/analytics.md, "Freshness").
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from functools import cache

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from ..analytics.clickhouse_compiler import members_query
from ..analytics.engine import shared_engine
from ..analytics.full_load import Target, current_load, load_tenant
from ..database_urls import AnalyticsTarget
from ..domain.condition_types.leaf_types import inputs
from ..domain.conditions import Condition
from ..membership import store
from ..storage import analytics_outbox as outbox
from ..storage.db import Database
from ..storage.schema import segments
from ..storage.segments import published_generations

log = logging.getLogger("segmentd.analytics")


@dataclass(frozen=True)
class Selected:
    """The members a condition holds for, and the time (epoch s) up to which the copy they
    were read from held every change of the system of record."""

    ids: frozenset[int]
    fresh_as_of: int


@dataclass
class _Loaded:
    fresh_as_of: int  # when the load's snapshot was taken (epoch s)
    generations: dict[str, int]  # published generation of each segment it copied


class AnalyticsSource:
    """One ClickHouse copy (``target``) of the system of record, for builds and previews."""

    def __init__(self, open_target: Callable[[], Target]) -> None:
        self._open_target = open_target
        self._target: Target | None = None
        self._opening = threading.Lock()
        self._loaded: dict[int, _Loaded] = {}
        # One load of a tenant at a time (full_load's rule); chdb serves one query at a time.
        self._lock = threading.Lock()

    @property
    def target(self) -> Target:
        """The copy, opened at first use: a ClickHouse down when the process starts fails
        the first build (retried), not the start."""
        with self._opening:
            if self._target is None:
                self._target = self._open_target()
            return self._target

    def sync(self, db: Database, tenant_id: int, segments: frozenset[str] = frozenset()) -> int:
        """Bring the tenant's copy up to date (its outbox rows, and the published membership
        of ``segments``); the time it is fresh as of."""
        with self._lock:
            with db.read() as conn:
                waiting = outbox.seqs_of(conn, tenant_id)
                generations = published_generations(conn, tenant_id, segments)
            loaded = self._loaded.get(tenant_id)
            if (
                loaded is not None
                and not waiting
                and all(loaded.generations.get(s) == g for s, g in generations.items())
                and current_load(self.target, tenant_id) > 0
            ):
                return int(time.time())  # nothing waits: the copy is current now
            return self._reload(db, tenant_id, waiting)

    def _reload(self, db: Database, tenant_id: int, waiting: list[int]) -> int:
        # Read before the load's snapshot: what it copies is at least this new.
        started = int(time.time())
        with db.read() as conn:
            generations = _all_generations(conn, tenant_id)
        rows = load_tenant(db, self.target, store().member_ids, tenant_id)
        if waiting:  # changes older than the load's snapshot: it holds them
            with db.write() as conn:
                outbox.remove(conn, waiting)
        self._loaded[tenant_id] = _Loaded(started, generations)
        log.info("tenant %s loaded into the analytics copy: %s", tenant_id, rows)
        return started

    def drain(self, db: Database) -> dict[int, int]:
        """Bring every tenant with outbox rows up to date; {tenant: fresh as of}."""
        with db.read() as conn:
            tenants = outbox.tenants_waiting(conn)
        return {tenant_id: self.sync(db, tenant_id) for tenant_id in tenants}

    def select(self, db: Database, tenant_id: int, list_id: int, condition: Condition) -> Selected:
        """The list's members the condition holds for, on the current copy."""
        fresh = self.sync(db, tenant_id, frozenset(inputs(condition).segments))
        with self._lock:
            query = members_query(
                condition,
                tenant_id,
                self.target.database,
                current_load(self.target, tenant_id),
                list_id,
            )
            rows = self.target.engine.rows(query.sql, query.params)
        return Selected(frozenset(int(row[0]) for row in rows), fresh)

    def count(self, db: Database, tenant_id: int, list_id: int, condition: Condition) -> int:
        """How many of the list's members the condition holds for, on the current copy."""
        self.sync(db, tenant_id, frozenset(inputs(condition).segments))
        with self._lock:
            query = members_query(
                condition,
                tenant_id,
                self.target.database,
                current_load(self.target, tenant_id),
                list_id,
            )
            rows = self.target.engine.rows(f"SELECT count() FROM ({query.sql})", query.params)
        return int(rows[0][0])


def _all_generations(conn: Connection, tenant_id: int) -> dict[str, int]:
    s = segments.c
    found = conn.execute(sa.select(s.id, s.generation).where(s.tenant_id == tenant_id))
    return {row.id: int(row.generation) for row in found}


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
