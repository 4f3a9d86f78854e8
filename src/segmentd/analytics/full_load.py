"""The full load: copy tenants' members, tags, campaign activity and published memberships
from the system of record (SQLite or PostgreSQL, through ``storage``) into ClickHouse, in
batches, with progress.

A full load is a drain of everything at one version: it writes every row of the tenant at a
version above every one it has, each segment's published membership as a copy
(``segment_copy``), then records itself in ``tenant_loads``. From then on reads take rows not
older than its version (``read_point``): a row it did not write again is gone from the
system of record. The rows it supersedes are then deleted in the background. A load cut
short leaves rows that held at its snapshot (newer than the copy's; the outbox rows of later
changes stay and the next drain writes over them) and no record: the floor stays. Everything
is read in one snapshot of the system of record. One load or drain of a tenant at a time
(the caller's to ensure).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from ..storage.db import Database
from ..storage.schema import campaign_activity, fields, member_tags, members, tenants
from ..storage.segments import Segment, list_segments
from .clickhouse_schema import (
    CAMPAIGN_ACTIVITY,
    MEMBER_COLUMNS,
    MEMBER_TAGS,
    MEMBERS,
    SEGMENT_COPIES,
    SEGMENT_MEMBERS,
    TENANT_LOADS,
    VERSIONED,
    column_types,
)
from .engine import insert_columns
from .read_point import read_point
from .segment_copy import PublishedMembers, copy_segment, drop_older_copies
from .target import ONE_SERVER, Layout, OneServer, Target
from .versions import next_version

__all__ = ["ONE_SERVER", "Layout", "OneServer", "Target"]  # re-exported: callers name them here

DEFAULT_BATCH = 50_000
_SEGMENT_PAGE = 500


class NoSuchTenant(ValueError):
    pass


@dataclass(frozen=True)
class LoadProgress:
    tenant_id: int
    table: str  # the ClickHouse table a batch was written to
    rows: int  # rows of that table written so far for the tenant


Progress = Callable[[LoadProgress], None]


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
    version = next_version(target.engine, target.database, tenant_id)
    written: dict[str, int] = {}
    with db.snapshot() as conn:
        sources = {
            MEMBERS: _member_rows(conn, tenant_id, batch),
            MEMBER_TAGS: _tag_rows(conn, tenant_id, batch),
            CAMPAIGN_ACTIVITY: _activity_rows(conn, tenant_id, batch),
        }
        for table, batches in sources.items():
            written[table] = 0
            types = dict(column_types(table))
            for names, rows in batches:
                columns = [
                    (name, types[name], values)
                    for name, values in zip(names, zip(*rows, strict=True), strict=True)
                ]
                live = {"tenant_id": tenant_id, "version": version, "deleted": 0}
                insert_columns(target.engine, f"{target.database}.{table}", columns, live)
                written[table] += len(rows)
                if progress is not None:
                    progress(LoadProgress(tenant_id, table, written[table]))
        written[SEGMENT_MEMBERS] = 0
        for segment in _segments(conn, tenant_id):
            written[SEGMENT_MEMBERS] += copy_segment(
                conn, target, published, segment, version, batch=batch
            )
            if progress is not None:
                progress(LoadProgress(tenant_id, SEGMENT_MEMBERS, written[SEGMENT_MEMBERS]))
    finished = [[tenant_id], [version], [int(time.time())], [written[MEMBERS]]]
    target.engine.insert(
        f"{target.database}.{TENANT_LOADS}",
        ["tenant_id", "load_id", "finished_at", "members"],
        finished,
    )
    _drop_superseded(target, tenant_id, version)
    return written


def current_load(target: Target, tenant_id: int) -> int:
    """The version of the tenant's last finished load (0: never loaded, nothing is read)."""
    return read_point(target.engine, target.database, tenant_id).floor


def _drop_superseded(target: Target, tenant_id: int, version: int) -> None:
    """Delete, in the background, the tenant's rows older than the load (a delete on a wide
    table is slow; reads never take them anyway), the older membership copies and load
    records. A delete applies only to the parts written before it, so the rows of later
    drains and copies are safe from it."""
    tenant, below = int(tenant_id), int(version)
    for table in VERSIONED:
        where = f"tenant_id = {tenant} AND version < {below}"
        found = target.engine.rows(f"SELECT count() FROM {target.database}.{table} WHERE {where}")
        if found and int(found[0][0]) > 0:
            target.layout.delete_where(target.engine, target.database, table, where)
    for table, column in ((SEGMENT_MEMBERS, "copy_id"), (SEGMENT_COPIES, "copy_id")):
        drop_older_copies(target, tenant, below, table, column)
    target.layout.delete_where(
        target.engine, target.database, TENANT_LOADS, f"tenant_id = {tenant} AND load_id < {below}"
    )


_MEMBER_SELECT = [
    members.c.id.label("member_id") if name == "member_id" else members.c[name]
    for name, _ in MEMBER_COLUMNS
]
_SLOTS = [
    column for column in _MEMBER_SELECT if column.name[:1] in "nt" and column.name[1:].isdigit()
]


Batch = tuple[Sequence[str], list[tuple[Any, ...]]]  # column names, and rows in their order


def _streamed(conn: Connection, query: sa.Select[Any], batch: int) -> Iterator[Batch]:
    """The rows of one query, ``batch`` at a time: one statement read as it goes (a
    server-side cursor on PostgreSQL), in the order it gives."""
    names = [column.name for column in query.selected_columns]
    result = conn.execution_options(stream_results=True, yield_per=batch).execute(query)
    for rows in result.partitions(batch):
        yield names, rows  # type: ignore[misc]  # Rows are tuples


def _used_slots(conn: Connection, tenant_id: int) -> set[str]:
    """The slot columns of the tenant's custom fields: the others hold no value (deleting a
    field clears its slot) and stay NULL in the copy without being sent, most tenants using
    a few of the 94. Both columns of a slot: a field's type may have changed."""
    slots = conn.execute(sa.select(fields.c.slot).where(fields.c.tenant_id == tenant_id))
    return {f"{kind}{int(slot)}" for slot in slots.scalars() for kind in "nt"}


def _member_rows(conn: Connection, tenant_id: int, batch: int) -> Iterator[Batch]:
    """In the order of the (tenant, list, id) index: no sort of the tenant's rows (SQLite
    would sort them all for ``ORDER BY id`` under ``tenant_id = ?``)."""
    used = _used_slots(conn, tenant_id)
    chosen = [
        column
        for column in _MEMBER_SELECT
        if column.name != "tenant_id" and (column not in _SLOTS or column.name in used)
    ]
    m = members.c
    query = sa.select(*chosen).where(m.tenant_id == tenant_id).order_by(m.list_id, m.id)
    return _streamed(conn, query, batch)


def _keyed_rows(
    conn: Connection, table: sa.Table, tenant_id: int, key: Sequence[str], batch: int
) -> Iterator[Batch]:
    """The tenant's rows of ``table`` in ``key`` order (its primary key after the tenant)."""
    chosen = [column for column in table.c if column.name != "tenant_id"]  # a constant
    query = sa.select(*chosen).where(table.c.tenant_id == tenant_id)
    return _streamed(conn, query.order_by(*(table.c[name] for name in key)), batch)


def _tag_rows(conn: Connection, tenant_id: int, batch: int) -> Iterator[Batch]:
    return _keyed_rows(conn, member_tags, tenant_id, ("member_id", "tag_id"), batch)


def _activity_rows(conn: Connection, tenant_id: int, batch: int) -> Iterator[Batch]:
    return _keyed_rows(conn, campaign_activity, tenant_id, ("campaign_id", "member_id"), batch)


def _segments(conn: Connection, tenant_id: int) -> Iterator[Segment]:
    offset = 0
    while True:
        page, total = list_segments(conn, tenant_id, offset=offset, limit=_SEGMENT_PAGE)
        yield from page
        offset += len(page)
        if not page or offset >= total:
            return


def counts(target: Target, tenant_id: int) -> Mapping[str, int]:
    """Rows of each table as reads take them: the live versioned rows, the members of each
    segment's current copy."""
    point = read_point(target.engine, target.database, tenant_id)
    found = {}
    for table in VERSIONED:
        rows = target.engine.rows(
            f"SELECT count() FROM {target.database}.{table} FINAL WHERE tenant_id = {{t:UInt64}} "
            f"AND version >= {int(point.floor)} AND deleted = 0",
            {"t": tenant_id},
        )
        found[table] = int(rows[0][0])
    found[SEGMENT_MEMBERS] = 0
    for segment_id, copied in point.copies.items():
        rows = target.engine.rows(
            f"SELECT count() FROM {target.database}.{SEGMENT_MEMBERS} "
            "WHERE tenant_id = {t:UInt64} AND segment_id = {s:String} AND copy_id = {c:UInt64}",
            {"t": tenant_id, "s": segment_id, "c": copied.copy_id},
        )
        found[SEGMENT_MEMBERS] += int(rows[0][0])
    return found
