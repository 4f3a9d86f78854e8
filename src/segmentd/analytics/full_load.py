"""The full load: copy tenants' members, tags, campaign activity and published memberships
from the system of record (SQLite or PostgreSQL, through ``storage``) into ClickHouse, in
batches, with progress.

Each load writes its rows under a new ``load_id`` and, once every row is written, records
itself in ``tenant_loads``: from then on queries read its rows (``current_load``), until
then the previous load's. So a reload switches at once, a load cut short is never read, and
a load run twice leaves one copy that counts. Rows of the other loads of the tenant are then
deleted in the background. Everything is read in one snapshot of the system of record. One
load of a tenant at a time (the caller's to ensure).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from ..storage.db import Database
from ..storage.schema import campaign_activity, member_tags, members, tenants
from ..storage.segments import Segment, list_segments
from .clickhouse_schema import (
    CAMPAIGN_ACTIVITY,
    MEMBER_COLUMNS,
    MEMBER_TAGS,
    MEMBERS,
    SEGMENT_MEMBERS,
    TABLES,
    TENANT_LOADS,
    create_schema,
)
from .engine import Engine

DEFAULT_BATCH = 10_000
_SEGMENT_PAGE = 500


class PublishedMembers(Protocol):
    """The published members of a segment in id order, ``batch`` at a time (in a snapshot):
    ``MembershipStore.member_ids``, which the caller passes (the membership sits above)."""

    def __call__(self, conn: Connection, segment: Segment, batch: int) -> Iterator[list[int]]: ...


class NoSuchTenant(ValueError):
    pass


@dataclass(frozen=True)
class LoadProgress:
    tenant_id: int
    table: str  # the ClickHouse table a batch was written to
    rows: int  # rows of that table written so far for the tenant


Progress = Callable[[LoadProgress], None]


class Layout(Protocol):
    """How a ClickHouse holds the tables: one server (the embedded engine) or a cluster of
    shards (``analytics_cluster.cluster_engine``), where the DDL and the deletes differ."""

    def create(self, engine: Engine, database: str) -> None:
        """Create the database and the tables where missing (safe to repeat)."""
        ...

    def delete_where(self, engine: Engine, database: str, table: str, where: str) -> None:
        """Delete the rows of ``table`` passing ``where`` (numbers only), in the background."""
        ...


class OneServer:
    def create(self, engine: Engine, database: str) -> None:
        create_schema(engine, database)

    def delete_where(self, engine: Engine, database: str, table: str, where: str) -> None:
        # Lightweight DELETE (23.x and later).
        engine.execute(
            f"DELETE FROM {database}.{table} WHERE {where} SETTINGS lightweight_deletes_sync = 0"
        )


ONE_SERVER = OneServer()


@dataclass(frozen=True)
class Target:
    engine: Engine
    database: str
    layout: Layout = ONE_SERVER


def load_all(
    db: Database,
    target: Target,
    published: PublishedMembers,
    *,
    batch: int = DEFAULT_BATCH,
    progress: Progress | None = None,
) -> dict[int, dict[str, int]]:
    """Load every tenant; rows written per tenant and table."""
    with db.read() as conn:
        tenant_ids = [
            int(t) for t in conn.execute(sa.select(tenants.c.id).order_by("id")).scalars()
        ]
    return {
        tenant_id: load_tenant(db, target, published, tenant_id, batch=batch, progress=progress)
        for tenant_id in tenant_ids
    }


def load_tenant(
    db: Database,
    target: Target,
    published: PublishedMembers,
    tenant_id: int,
    *,
    batch: int = DEFAULT_BATCH,
    progress: Progress | None = None,
) -> dict[str, int]:
    """Replace the tenant's copy in ClickHouse by the system of record's; rows written per
    table. Raises ``NoSuchTenant`` before writing anything when there is no such tenant."""
    with db.read() as conn:
        if conn.execute(sa.select(tenants.c.id).where(tenants.c.id == tenant_id)).first() is None:
            raise NoSuchTenant(f"no tenant {tenant_id}")
    target.layout.create(target.engine, target.database)
    load_id = _next_load_id(target, tenant_id)
    written: dict[str, int] = {}
    with db.snapshot() as conn:
        sources = {
            MEMBERS: _member_rows(conn, tenant_id, batch),
            MEMBER_TAGS: _tag_rows(conn, tenant_id, batch),
            CAMPAIGN_ACTIVITY: _activity_rows(conn, tenant_id, batch),
            SEGMENT_MEMBERS: _membership_rows(conn, tenant_id, published, batch),
        }
        for table, batches in sources.items():
            written[table] = 0
            for names, rows in batches:
                columns = [*zip(*rows, strict=True), [load_id] * len(rows)]
                target.engine.insert(f"{target.database}.{table}", [*names, "load_id"], columns)
                written[table] += len(rows)
                if progress is not None:
                    progress(LoadProgress(tenant_id, table, written[table]))
    finished = [[tenant_id], [load_id], [int(time.time())], [written[MEMBERS]]]
    target.engine.insert(
        f"{target.database}.{TENANT_LOADS}",
        ["tenant_id", "load_id", "finished_at", "members"],
        finished,
    )
    _drop_other_loads(target, tenant_id, load_id)
    return written


def current_load(target: Target, tenant_id: int) -> int:
    """The tenant's current load (0: never loaded, and no rows are read)."""
    rows = target.engine.rows(
        f"SELECT max(load_id) FROM {target.database}.{TENANT_LOADS} WHERE tenant_id = {{t:UInt64}}",
        {"t": tenant_id},
    )
    return int(rows[0][0]) if rows else 0


def _next_load_id(target: Target, tenant_id: int) -> int:
    """Greater than every load of the tenant, finished or not: microseconds of the clock,
    or one more than the greatest id written when the clock is behind it."""
    highest = 0
    for table in (*TABLES, TENANT_LOADS):
        rows = target.engine.rows(
            f"SELECT max(load_id) FROM {target.database}.{table} WHERE tenant_id = {{t:UInt64}}",
            {"t": tenant_id},
        )
        highest = max(highest, int(rows[0][0]) if rows else 0)
    return max(highest + 1, time.time_ns() // 1000)


def _drop_other_loads(target: Target, tenant_id: int, load_id: int) -> None:
    """Delete the tenant's rows of every other load, in the background (a delete on a wide
    table is slow; queries never read those rows anyway). A delete applies only to the parts
    written before it, so a later load's rows are safe from it."""
    tenant, load = int(tenant_id), int(load_id)
    for table in TABLES:
        where = f"tenant_id = {tenant} AND load_id != {load}"
        found = target.engine.rows(f"SELECT count() FROM {target.database}.{table} WHERE {where}")
        if found and int(found[0][0]) > 0:
            target.layout.delete_where(target.engine, target.database, table, where)
    target.layout.delete_where(
        target.engine,
        target.database,
        TENANT_LOADS,
        f"tenant_id = {tenant} AND load_id < {load}",
    )


_MEMBER_SELECT = [
    members.c.id.label("member_id") if name == "member_id" else members.c[name]
    for name, _ in MEMBER_COLUMNS
    if name != "load_id"
]


Batch = tuple[Sequence[str], list[tuple[Any, ...]]]  # column names, and rows in their order


def _member_rows(conn: Connection, tenant_id: int, batch: int) -> Iterator[Batch]:
    names = [column.name for column in _MEMBER_SELECT]
    after = 0
    while True:
        query = (
            sa.select(*_MEMBER_SELECT)
            .where(members.c.tenant_id == tenant_id, members.c.id > after)
            .order_by(members.c.id)
            .limit(batch)
        )
        rows = [tuple(row) for row in conn.execute(query)]
        if not rows:
            return
        yield names, rows
        after = rows[-1][names.index("member_id")]


def _keyed_rows(
    conn: Connection, table: sa.Table, tenant_id: int, key: Sequence[str], batch: int
) -> Iterator[Batch]:
    """The tenant's rows of ``table`` in ``key`` order (its primary key after the tenant),
    ``batch`` at a time by keyset paging."""
    columns = list(table.c)
    names = [column.name for column in columns]
    ordered = [table.c[name] for name in key]
    positions = [names.index(name) for name in key]
    last: tuple[Any, ...] | None = None
    while True:
        query = sa.select(*columns).where(table.c.tenant_id == tenant_id)
        if last is not None:
            query = query.where(sa.tuple_(*ordered) > sa.tuple_(*last))
        rows = [tuple(r) for r in conn.execute(query.order_by(*ordered).limit(batch))]
        if not rows:
            return
        yield names, rows
        last = tuple(rows[-1][i] for i in positions)


def _tag_rows(conn: Connection, tenant_id: int, batch: int) -> Iterator[Batch]:
    return _keyed_rows(conn, member_tags, tenant_id, ("member_id", "tag_id"), batch)


def _activity_rows(conn: Connection, tenant_id: int, batch: int) -> Iterator[Batch]:
    return _keyed_rows(conn, campaign_activity, tenant_id, ("campaign_id", "member_id"), batch)


def _membership_rows(
    conn: Connection, tenant_id: int, published: PublishedMembers, batch: int
) -> Iterator[Batch]:
    names = ("tenant_id", "segment_id", "member_id")
    for segment in _segments(conn, tenant_id):
        for ids in published(conn, segment, batch):
            yield names, [(tenant_id, segment.id, member_id) for member_id in ids]


def _segments(conn: Connection, tenant_id: int) -> Iterator[Segment]:
    offset = 0
    while True:
        page, total = list_segments(conn, tenant_id, offset=offset, limit=_SEGMENT_PAGE)
        yield from page
        offset += len(page)
        if not page or offset >= total:
            return


def counts(target: Target, tenant_id: int) -> Mapping[str, int]:
    """Rows of each table in the tenant's current load."""
    params = {"t": tenant_id, "load": current_load(target, tenant_id)}
    found = {}
    for table in TABLES:
        rows = target.engine.rows(
            f"SELECT count() FROM {target.database}.{table} "
            "WHERE tenant_id = {t:UInt64} AND load_id = {load:UInt64}",
            params,
        )
        found[table] = int(rows[0][0])
    return found
