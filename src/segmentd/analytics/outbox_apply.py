"""Apply the analytics outbox to the copy, on the embedded engine or a cluster alike: read a
batch of outbox rows in ``seq`` order, write the current state of what they name (from the
system of record) into the versioned tables, then delete those outbox rows.

Idempotent and resumable: a row names what changed, never a value, so applying it twice
writes the same state twice (the newer ``version`` wins); a drain killed at any point leaves
its rows in the outbox, and the next one writes their state again before deleting them.
What is gone from the system of record becomes a tombstone (``deleted = 1``): no mutation.
``version`` is taken before the batch's snapshot and above every version the tenant has: a
later batch read the state later, so its rows must win, even over a batch with larger
``seq`` (PostgreSQL can commit an outbox row after one with a larger ``seq`` was drained).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from ..storage import analytics_outbox as outbox
from ..storage.db import Database
from ..storage.schema import campaign_activity, member_tags, members
from .clickhouse_schema import (
    CAMPAIGN_ACTIVITY,
    MEMBER_COLUMNS,
    MEMBER_TAGS,
    MEMBERS,
    columns,
)
from .target import Target
from .versions import next_version

DEFAULT_BATCH = 1_000
_CHUNK = 500  # ids per IN list (SQLite's bound variables)
_TIMES = ("sent_at", "opened_at", "clicked_at")


@dataclass
class Rows:
    """The rows a batch writes, by table, all with the batch's ``version``."""

    version: int
    tables: dict[str, list[list[Any]]] = field(default_factory=dict)

    def add(self, table: str, rows: Iterable[list[Any]]) -> None:
        self.tables.setdefault(table, []).extend(rows)


@dataclass(frozen=True)
class DrainProgress:
    drained: int  # outbox rows drained so far by this call
    last_seq: int  # the largest seq of the last batch


@dataclass
class Applied:
    """What a drain wrote: outbox rows applied, batches, rows written per table."""

    outbox_rows: int = 0
    batches: int = 0
    written: dict[str, int] = field(default_factory=dict)

    def add(self, seqs: int, tables: dict[str, list[list[Any]]]) -> None:
        self.outbox_rows += seqs
        self.batches += 1
        for table, rows in tables.items():
            self.written[table] = self.written.get(table, 0) + len(rows)


def drain(
    db: Database,
    target: Target,
    *,
    batch: int = DEFAULT_BATCH,
    tenant_id: int | None = None,
    upto: int | None = None,
    progress: Callable[[DrainProgress], None] | None = None,
) -> Applied:
    """Apply outbox rows (of one tenant, up to a ``seq``, when given) until none is left."""
    applied = Applied()
    last: dict[int, int] = {}
    while True:
        done = drain_batch(db, target, batch=batch, tenant_id=tenant_id, upto=upto, last=last)
        if done is None:
            return applied
        seqs, tables = done
        applied.add(len(seqs), tables)
        if progress is not None:
            progress(DrainProgress(applied.outbox_rows, max(seqs)))


def drain_batch(
    db: Database,
    target: Target,
    *,
    batch: int = DEFAULT_BATCH,
    tenant_id: int | None = None,
    upto: int | None = None,
    last: dict[int, int] | None = None,
) -> tuple[list[int], dict[str, list[list[Any]]]] | None:
    """Apply the oldest ``batch`` outbox rows; their seqs and the rows written (None when
    nothing waits). ``last``: each tenant's version of the previous batch of this drain."""
    with db.read() as conn:
        rows = outbox.pending(conn, batch, tenant_id, upto)
    if not rows:
        return None
    last = {} if last is None else last
    out = {t: Rows(_version(target, t, last)) for t in sorted({r.tenant_id for r in rows})}
    with db.snapshot() as conn:
        for tenant, ids in _grouped(rows, outbox.MEMBER).items():
            write_members(conn, target, tenant, sorted(ids), out[tenant])
        for tenant, pairs in _grouped(rows, outbox.ACTIVITY).items():
            write_activity(conn, tenant, sorted(pairs), out[tenant])
    # One insert per table and batch: on a cluster each makes a part on every shard.
    tables: dict[str, list[list[Any]]] = {}
    for written in out.values():
        for table, table_rows in written.tables.items():
            tables.setdefault(table, []).extend(table_rows)
    for table, table_rows in tables.items():
        if table_rows:
            by_column = [list(values) for values in zip(*table_rows, strict=True)]
            target.engine.insert(f"{target.database}.{table}", columns(table), by_column)
    seqs = [row.seq for row in rows]
    with db.write() as conn:
        outbox.remove(conn, seqs)
    return seqs, tables


def _version(target: Target, tenant_id: int, last: dict[int, int]) -> int:
    """Above every version of the tenant: asked of ClickHouse at a drain's first batch,
    then above the previous batch's."""
    if tenant_id in last:
        version = max(last[tenant_id] + 1, time.time_ns())
    else:
        version = next_version(target.engine, target.database, tenant_id)
    last[tenant_id] = version
    return version


def _grouped(rows: Iterable[outbox.OutboxRow], kind: str) -> dict[int, set[Any]]:
    found: dict[int, set[Any]] = {}
    for row in rows:
        if row.kind == kind:
            key = row.member_id if kind == outbox.MEMBER else (row.member_id, row.campaign_id)
            found.setdefault(row.tenant_id, set()).add(key)
    return found


def _chunks(items: Sequence[Any]) -> Iterable[Sequence[Any]]:
    for start in range(0, len(items), _CHUNK):
        yield items[start : start + _CHUNK]


_MEMBER_SELECT = [
    members.c.id.label("member_id") if name == "member_id" else members.c[name]
    for name, _ in MEMBER_COLUMNS
]


def write_members(
    conn: Connection, target: Target, tenant_id: int, ids: Sequence[int], out: Rows
) -> None:
    """Write the members' rows and tags as the system of record has them now; tombstones
    for members gone, and for tags and activity rows they no longer have."""
    for chunk in _chunks(ids):
        found = {
            row.member_id: row._mapping
            for row in conn.execute(
                sa.select(*_MEMBER_SELECT).where(
                    members.c.tenant_id == tenant_id, members.c.id.in_(chunk)
                )
            )
        }
        out.add(MEMBERS, ([*found[m].values(), out.version, 0] for m in chunk if m in found))
        gone = [m for m in chunk if m not in found]
        out.add(MEMBERS, (_member_tombstone(tenant_id, m, out.version) for m in gone))
        _write_tags(conn, target, tenant_id, chunk, out)
        _bury_activity(target, tenant_id, gone, out)


def _member_tombstone(tenant_id: int, member_id: int, version: int) -> list[Any]:
    blank = {"tenant_id": tenant_id, "member_id": member_id, "email_key": "", "domain": ""}
    values = [
        blank.get(name, None if kind.startswith("Nullable") else 0) for name, kind in MEMBER_COLUMNS
    ]
    return [*values, version, 1]


def _write_tags(
    conn: Connection, target: Target, tenant_id: int, ids: Sequence[int], out: Rows
) -> None:
    t = member_tags.c
    held = set(
        conn.execute(
            sa.select(t.member_id, t.tag_id).where(t.tenant_id == tenant_id, t.member_id.in_(ids))
        )
    )
    copied = set(_live_keys(target, MEMBER_TAGS, "tag_id", tenant_id, ids))
    out.add(MEMBER_TAGS, ([tenant_id, m, tag, out.version, 0] for m, tag in sorted(held)))
    gone = sorted(copied - held)
    out.add(MEMBER_TAGS, ([tenant_id, m, tag, out.version, 1] for m, tag in gone))


def _bury_activity(target: Target, tenant_id: int, ids: Sequence[int], out: Rows) -> None:
    """Tombstones for the activity rows of deleted members."""
    if ids:
        pairs = sorted(_live_keys(target, CAMPAIGN_ACTIVITY, "campaign_id", tenant_id, ids))
        out.add(
            CAMPAIGN_ACTIVITY,
            ([tenant_id, m, c, None, None, None, out.version, 1] for m, c in pairs),
        )


def _live_keys(
    target: Target, table: str, second: str, tenant_id: int, ids: Sequence[int]
) -> list[tuple[int, int]]:
    """(member_id, ``second``) of the members' live rows in ClickHouse (a row below the
    floor may be among them: a tombstone for it is harmless)."""
    listed = ", ".join(str(int(m)) for m in ids)
    return [
        (int(m), int(k))
        for m, k in target.engine.rows(
            f"SELECT member_id, {second} FROM {target.database}.{table} FINAL "
            f"WHERE tenant_id = {{t:UInt64}} AND member_id IN ({listed}) AND deleted = 0",
            {"t": tenant_id},
        )
    ]


def write_activity(
    conn: Connection,
    tenant_id: int,
    pairs: Sequence[tuple[int, int]],
    out: Rows,
) -> None:
    """Write these (member, campaign) activity rows as the system of record has them now."""
    a = campaign_activity.c
    for chunk in _chunks(pairs):
        found = {
            (row.member_id, row.campaign_id): row
            for row in conn.execute(
                sa.select(a.member_id, a.campaign_id, *(a[c] for c in _TIMES)).where(
                    a.tenant_id == tenant_id,
                    a.member_id.in_(sorted({m for m, _ in chunk})),
                    a.campaign_id.in_(sorted({c for _, c in chunk})),
                )
            )
        }
        out.add(
            CAMPAIGN_ACTIVITY,
            (
                [tenant_id, m, c, *(getattr(found[(m, c)], n) for n in _TIMES), out.version, 0]
                if (m, c) in found
                else [tenant_id, m, c, None, None, None, out.version, 1]
                for m, c in chunk
            ),
        )
