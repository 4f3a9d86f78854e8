"""Drain the analytics outbox into the cluster: read a batch of outbox rows in ``seq`` order,
write the current state of what they name (from the system of record) into the sharded
tables, then delete those outbox rows.

Idempotent and resumable: a row names what changed, never a value, so draining it twice
writes the same state twice (the newer ``version`` wins); a drain killed at any point leaves
its rows in the outbox, and the next one writes their state again before deleting them.
``version`` is the drain's wall clock in nanoseconds: a later drain read the state later, so
its rows must win, even over a batch with larger ``seq`` (PostgreSQL can commit an outbox row
after one with a larger ``seq`` was drained).
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
from .shard_client import ClusterClient
from .sharded_tables import (
    CAMPAIGN_ACTIVITY,
    COLUMNS,
    MEMBER_TAGS,
    MEMBERS,
    columns,
)

DEFAULT_BATCH = 1_000
_CHUNK = 500  # ids per IN list (SQLite's bound variables)


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


def drain(
    db: Database,
    client: ClusterClient,
    *,
    batch: int = DEFAULT_BATCH,
    progress: Callable[[DrainProgress], None] | None = None,
) -> int:
    """Drain until the outbox is empty; the rows drained."""
    total = 0
    while True:
        done = drain_batch(db, client, batch=batch)
        if not done:
            return total
        total += len(done)
        if progress is not None:
            progress(DrainProgress(total, max(done)))


def drain_batch(db: Database, client: ClusterClient, *, batch: int = DEFAULT_BATCH) -> list[int]:
    """Drain the oldest ``batch`` outbox rows; their seqs (none when the outbox is empty)."""
    with db.read() as conn:
        rows = outbox.pending(conn, batch)
    if not rows:
        return []
    out = Rows(version=time.time_ns())
    with db.snapshot() as conn:
        for tenant_id, ids in _grouped(rows, outbox.MEMBER).items():
            write_members(conn, client, tenant_id, sorted(ids), out)
        for tenant_id, pairs in _grouped(rows, outbox.ACTIVITY).items():
            write_activity(conn, tenant_id, sorted(pairs), out)
    # One insert per table and batch: each makes a part on every shard, the costly step.
    for table, table_rows in out.tables.items():
        client.insert(f"{client.database}.{table}", columns(table), table_rows)
    seqs = [row.seq for row in rows]
    with db.write() as conn:
        outbox.remove(conn, seqs)
    return seqs


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
    for name, _ in COLUMNS[MEMBERS]
]


def write_members(
    conn: Connection, client: ClusterClient, tenant_id: int, ids: Sequence[int], out: Rows
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
        _write_tags(conn, client, tenant_id, chunk, out)
        _bury_activity(client, tenant_id, gone, out)


def _member_tombstone(tenant_id: int, member_id: int, version: int) -> list[Any]:
    blank = {"tenant_id": tenant_id, "member_id": member_id, "email_key": "", "domain": ""}
    values = [
        blank.get(name, None if kind.startswith("Nullable") else 0)
        for name, kind in COLUMNS[MEMBERS]
    ]
    return [*values, version, 1]


def _write_tags(
    conn: Connection, client: ClusterClient, tenant_id: int, ids: Sequence[int], out: Rows
) -> None:
    t = member_tags.c
    held = set(
        conn.execute(
            sa.select(t.member_id, t.tag_id).where(t.tenant_id == tenant_id, t.member_id.in_(ids))
        )
    )
    copied = set(_live_keys(client, MEMBER_TAGS, "tag_id", tenant_id, ids))
    out.add(MEMBER_TAGS, ([tenant_id, m, tag, out.version, 0] for m, tag in sorted(held)))
    gone = sorted(copied - held)
    out.add(MEMBER_TAGS, ([tenant_id, m, tag, out.version, 1] for m, tag in gone))


def _bury_activity(client: ClusterClient, tenant_id: int, ids: Sequence[int], out: Rows) -> None:
    """Tombstones for the activity rows of deleted members."""
    if ids:
        pairs = sorted(_live_keys(client, CAMPAIGN_ACTIVITY, "campaign_id", tenant_id, ids))
        out.add(
            CAMPAIGN_ACTIVITY,
            ([tenant_id, m, c, None, None, None, out.version, 1] for m, c in pairs),
        )


def _live_keys(
    client: ClusterClient, table: str, second: str, tenant_id: int, ids: Sequence[int]
) -> list[tuple[int, int]]:
    """(member_id, ``second``) of the members' live rows in ClickHouse."""
    return [
        (int(m), int(k))
        for m, k in client.rows(
            f"SELECT member_id, {second} FROM {client.database}.{table} FINAL "
            "WHERE tenant_id = %(t)s AND member_id IN %(ids)s AND deleted = 0",
            {"t": tenant_id, "ids": tuple(ids)},
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
    times = ("sent_at", "opened_at", "clicked_at")
    for chunk in _chunks(pairs):
        found = {
            (row.member_id, row.campaign_id): row
            for member_ids in [sorted({m for m, _ in chunk})]
            for row in conn.execute(
                sa.select(a.member_id, a.campaign_id, *(a[c] for c in times)).where(
                    a.tenant_id == tenant_id,
                    a.member_id.in_(member_ids),
                    a.campaign_id.in_(sorted({c for _, c in chunk})),
                )
            )
        }
        out.add(
            CAMPAIGN_ACTIVITY,
            (
                [tenant_id, m, c, *(getattr(found[(m, c)], n) for n in times), out.version, 0]
                if (m, c) in found
                else [tenant_id, m, c, None, None, None, out.version, 1]
                for m, c in chunk
            ),
        )
