"""The analytics outbox: which members and activity rows changed since ClickHouse last took
them (``schema.analytics_outbox``).

Written in the transaction of the change, so a change and its outbox row commit together or
not at all; only when the analytics back-end is set (``Database(analytics_outbox=True)``
marks its connections), else these calls cost nothing.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from ..timefmt import now
from .schema import analytics_outbox

OPTION = "segmentd_analytics_outbox"  # the engine's execution option that turns it on
MEMBER = "member"  # the member's row and its tags
ACTIVITY = "activity"  # one campaign_activity row (member, campaign)
KINDS = (MEMBER, ACTIVITY)


@dataclass(frozen=True)
class OutboxRow:
    seq: int
    tenant_id: int
    kind: str
    member_id: int
    campaign_id: int | None


def enabled(conn: Connection) -> bool:
    return bool(conn.get_execution_options().get(OPTION))


def record_members(conn: Connection, tenant_id: int, member_ids: Iterable[int]) -> None:
    """Members created, changed (fields, tags, subscription) or deleted."""
    if enabled(conn):
        _insert(conn, [(tenant_id, MEMBER, m, None) for m in sorted(set(member_ids))])


def record_activity(
    conn: Connection, tenant_id: int, campaign_id: int, member_ids: Iterable[int]
) -> None:
    """Members whose activity in ``campaign_id`` changed."""
    if enabled(conn):
        _insert(conn, [(tenant_id, ACTIVITY, m, campaign_id) for m in sorted(set(member_ids))])


def record_members_of(conn: Connection, tenant_id: int, ids: sa.Select[Any]) -> None:
    """Members whose ids ``ids`` selects, recorded in the database (set-based)."""
    if enabled(conn):
        o = analytics_outbox.c
        rows = sa.select(
            sa.literal(tenant_id), sa.literal(MEMBER), ids.subquery().c[0], sa.literal(now())
        )
        conn.execute(
            sa.insert(analytics_outbox).from_select(
                [o.tenant_id, o.kind, o.member_id, o.recorded_at], rows
            )
        )


def record_activity_of(
    conn: Connection, tenant_id: int, campaign_id: int, ids: sa.Select[Any]
) -> None:
    """Members whose ids ``ids`` selects, whose activity in ``campaign_id`` changed (set-based)."""
    if enabled(conn):
        o = analytics_outbox.c
        rows = sa.select(
            sa.literal(tenant_id),
            sa.literal(ACTIVITY),
            ids.subquery().c[0],
            sa.literal(campaign_id),
            sa.literal(now()),
        )
        conn.execute(
            sa.insert(analytics_outbox).from_select(
                [o.tenant_id, o.kind, o.member_id, o.campaign_id, o.recorded_at], rows
            )
        )


def _insert(conn: Connection, rows: list[tuple[int, str, int, int | None]]) -> None:
    if rows:
        stamp = now()
        conn.execute(
            sa.insert(analytics_outbox),
            [
                {"tenant_id": t, "kind": k, "member_id": m, "campaign_id": c, "recorded_at": stamp}
                for t, k, m, c in rows
            ],
        )


def pending(
    conn: Connection, limit: int, tenant_id: int | None = None, upto: int | None = None
) -> list[OutboxRow]:
    """The oldest ``limit`` rows, in ``seq`` order (of one tenant, up to a ``seq``)."""
    o = analytics_outbox.c
    query = sa.select(o.seq, o.tenant_id, o.kind, o.member_id, o.campaign_id)
    if tenant_id is not None:
        query = query.where(o.tenant_id == tenant_id)
    if upto is not None:
        query = query.where(o.seq <= upto)
    return [OutboxRow(*row) for row in conn.execute(query.order_by(o.seq).limit(limit))]


def last_seq(conn: Connection, tenant_id: int) -> int | None:
    """The greatest ``seq`` of the tenant's waiting rows (None: nothing waits)."""
    o = analytics_outbox.c
    found = conn.execute(sa.select(sa.func.max(o.seq)).where(o.tenant_id == tenant_id))
    value = found.scalar_one()
    return None if value is None else int(value)


def members_waiting(conn: Connection, tenant_id: int, lo: int, hi: int) -> set[int]:
    """The tenant's members with ids in (lo, hi] that have changes not yet in ClickHouse."""
    o = analytics_outbox.c
    query = sa.select(o.member_id).where(
        o.tenant_id == tenant_id, o.member_id > lo, o.member_id <= hi
    )
    return {int(m) for m in conn.execute(query.distinct()).scalars()}


def tenants_waiting(conn: Connection) -> list[int]:
    """The tenants with changes not yet in ClickHouse."""
    o = analytics_outbox.c
    return [
        int(t)
        for t in conn.execute(sa.select(o.tenant_id).distinct().order_by(o.tenant_id)).scalars()
    ]


def seqs_of(conn: Connection, tenant_id: int) -> list[int]:
    """The ``seq`` of every waiting row of the tenant."""
    o = analytics_outbox.c
    return [
        int(s) for s in conn.execute(sa.select(o.seq).where(o.tenant_id == tenant_id)).scalars()
    ]


def remove(conn: Connection, seqs: Sequence[int]) -> None:
    """Delete drained rows by their exact ``seq`` (a row that committed late, with a smaller
    ``seq`` than rows already drained, stays until it is drained itself)."""
    for start in range(0, len(seqs), 500):
        chunk = seqs[start : start + 500]
        conn.execute(sa.delete(analytics_outbox).where(analytics_outbox.c.seq.in_(chunk)))


@dataclass(frozen=True)
class Backlog:
    rows: int  # changes not yet in ClickHouse
    oldest_at: int | None  # when the oldest of them was recorded (epoch s); None: up to date

    def fresh_as_of(self, at: int) -> int:
        """The time up to which ClickHouse holds every change, as seen at ``at``."""
        return at if self.oldest_at is None else self.oldest_at


def backlog(conn: Connection) -> Backlog:
    """How far behind the analytics copy is: a build on it says so."""
    o = analytics_outbox.c
    count, oldest = conn.execute(sa.select(sa.func.count(), sa.func.min(o.recorded_at))).one()
    return Backlog(int(count), None if oldest is None else int(oldest))
