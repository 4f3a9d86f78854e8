"""Reading the membership history (``membership_changes``, written by ``storage.change_log``).

The change feed is read with a keyset cursor: the ``seq`` of the last change read. Seqs are
given out per tenant in commit order, so a reader that stores the cursor and asks for
``seq > cursor`` gets every change once, in order, across restarts. A member's history and
"was the member in the segment at time T" read the same rows by member.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from .change_log import CHANGE_NAMES, ENTERED
from .schema import change_counters, membership_changes, segment_sizes

_mc = membership_changes.c


@dataclass(frozen=True)
class Change:
    """One member entering or leaving one segment's published membership."""

    seq: int
    segment_id: str
    list_id: int
    member_id: int
    change: str  # "entered" or "left"
    cause: str  # one of ``change_log.CAUSES``
    at: int  # epoch seconds (UTC) of the transaction that made it


_COLUMNS = (_mc.seq, _mc.segment_id, _mc.list_id, _mc.member_id, _mc.change, _mc.cause, _mc.at)


def _change(row: Any) -> Change:
    return Change(
        seq=int(row.seq),
        segment_id=row.segment_id,
        list_id=int(row.list_id),
        member_id=int(row.member_id),
        change=CHANGE_NAMES[int(row.change)],
        cause=row.cause,
        at=int(row.at),
    )


def read_changes(
    conn: Connection,
    tenant_id: int,
    *,
    after_seq: int,
    limit: int,
    segment_id: str | None = None,
) -> list[Change]:
    """The tenant's changes (of one segment, or all) with ``seq > after_seq``, in seq order,
    at most ``limit``. The next cursor is the last one's ``seq``."""
    query = sa.select(*_COLUMNS).where(_mc.tenant_id == tenant_id, _mc.seq > after_seq)
    if segment_id is not None:
        query = query.where(_mc.segment_id == segment_id)
    rows = conn.execute(query.order_by(_mc.seq).limit(limit))
    return [_change(row) for row in rows]


def recent_changes(
    conn: Connection,
    tenant_id: int,
    *,
    before_seq: int | None,
    limit: int,
    segment_id: str | None = None,
    member_id: int | None = None,
) -> list[Change]:
    """The tenant's changes (of one segment or member, or all), newest first, with
    ``seq < before_seq`` when given: pages read backwards, for people rather than consumers."""
    query = sa.select(*_COLUMNS).where(_mc.tenant_id == tenant_id)
    if before_seq is not None:
        query = query.where(_mc.seq < before_seq)
    if segment_id is not None:
        query = query.where(_mc.segment_id == segment_id)
    if member_id is not None:
        query = query.where(_mc.member_id == member_id)
    rows = conn.execute(query.order_by(_mc.seq.desc()).limit(limit))
    return [_change(row) for row in rows]


def last_seq(conn: Connection, tenant_id: int) -> int:
    """The tenant's last committed change (0: none yet): a cursor reading only later ones."""
    found = conn.execute(sa.select(sa.func.max(_mc.seq)).where(_mc.tenant_id == tenant_id))
    return int(found.scalar() or 0)


def member_changes(
    conn: Connection,
    tenant_id: int,
    member_id: int,
    *,
    after_seq: int,
    limit: int,
    segment_id: str | None = None,
) -> list[Change]:
    """One member's changes (in one segment, or all), in seq order after ``after_seq``."""
    query = sa.select(*_COLUMNS).where(
        _mc.tenant_id == tenant_id, _mc.member_id == member_id, _mc.seq > after_seq
    )
    if segment_id is not None:
        query = query.where(_mc.segment_id == segment_id)
    rows = conn.execute(query.order_by(_mc.seq).limit(limit))
    return [_change(row) for row in rows]


def member_state_at(
    conn: Connection, tenant_id: int, segment_id: str, member_id: int, at: int
) -> bool | None:
    """Whether the member was in the segment at ``at`` (epoch seconds) by its history: the last
    change at or before then says so, or else the first one after it (the opposite of it: a
    member's changes in a segment alternate); None when the history has no change of it."""
    key = (
        _mc.tenant_id == tenant_id,
        _mc.segment_id == segment_id,
        _mc.member_id == member_id,
    )
    before = conn.execute(
        sa.select(_mc.change).where(*key, _mc.at <= at).order_by(_mc.seq.desc()).limit(1)
    ).scalar()
    if before is not None:
        return int(before) == ENTERED
    after = conn.execute(
        sa.select(_mc.change).where(*key, _mc.at > at).order_by(_mc.seq).limit(1)
    ).scalar()
    if after is not None:
        return int(after) != ENTERED
    return None


def segment_sizes_between(
    conn: Connection, tenant_id: int, segment_id: str, first: date, last: date
) -> list[tuple[date, int]]:
    """(day, size) of the days from ``first`` to ``last`` on which the segment changed, and
    the last such day before ``first`` (the size the range starts with), in day order."""
    ss = segment_sizes.c
    key = (ss.tenant_id == tenant_id, ss.segment_id == segment_id)
    start = conn.execute(
        sa.select(ss.day, ss.size).where(*key, ss.day < first).order_by(ss.day.desc()).limit(1)
    ).all()
    rows = conn.execute(
        sa.select(ss.day, ss.size).where(*key, ss.day >= first, ss.day <= last).order_by(ss.day)
    ).all()
    return [(row.day, int(row.size)) for row in (*start, *rows)]


def delete_changes_before(conn: Connection, tenant_id: int, cutoff: int, limit: int) -> int:
    """Delete at most ``limit`` of the tenant's oldest changes made before ``cutoff`` (epoch
    seconds); how many. Seqs grow with time, so they are the first ones by seq."""
    oldest = (
        sa.select(_mc.seq)
        .where(_mc.tenant_id == tenant_id, _mc.at < cutoff)
        .order_by(_mc.seq)
        .limit(limit)
        .scalar_subquery()
    )
    found = conn.execute(
        sa.select(sa.func.count(), sa.func.max(_mc.seq)).where(
            _mc.tenant_id == tenant_id, _mc.seq.in_(oldest)
        )
    ).one()
    count, upto = int(found[0]), found[1]
    if not count:
        return 0
    conn.execute(
        sa.delete(membership_changes).where(
            _mc.tenant_id == tenant_id, _mc.seq <= upto, _mc.at < cutoff
        )
    )
    return count


def tenants_with_history(conn: Connection) -> list[int]:
    return [int(t) for t in conn.execute(sa.select(change_counters.c.tenant_id)).scalars()]
