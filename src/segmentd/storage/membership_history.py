"""Reading the membership history (``membership_changes``, written by ``storage.change_log``).

The change feed is read with a keyset cursor: the ``seq`` of the last change read. Seqs are
given out per tenant in commit order, so a reader that stores the cursor and asks for
``seq > cursor`` gets every change once, in order, across restarts. A segment's feed reads
its index by segment number (``history_segments`` maps ids to numbers, and back for every
row read). A member's history and "was the member in the segment at time T" read the member
index one seek per block of seqs (``change_log.SEQ_BLOCK``): a member's few changes in each.
"""

from __future__ import annotations

from datetime import date
from typing import Any, NamedTuple

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from .change_log import CAUSE_NAMES, CHANGE_NAMES, ENTERED, SEQ_BLOCK
from .schema import change_counters, history_segments, membership_changes, segment_sizes
from .sqlite_plans import IndexedBy

_mc = membership_changes.c
_hs = history_segments.c


class Change(NamedTuple):
    """One member entering or leaving one segment's published membership (a named tuple:
    a feed page makes a thousand of them, and a frozen dataclass costs three times as much)."""

    seq: int
    segment_id: str
    list_id: int
    member_id: int
    change: str  # "entered" or "left"
    cause: str  # one of ``change_log.CAUSES``
    at: int  # epoch seconds (UTC) of the transaction that made it


# SQLite has no statistics here, and with rows this narrow it rates reading the primary key
# in seq order (and filtering) cheaper than any index: a rare segment's feed page or one
# member's history would walk the tenant's whole history. Its reads name their index there;
# PostgreSQL's statistics choose.
_BY_SEGMENT = IndexedBy(membership_changes, "ix_membership_changes_tenant_id_segment_number_seq")
_BY_MEMBER = IndexedBy(
    membership_changes, "ix_membership_changes_tenant_id_seq_block_member_id_seq"
)
Source = sa.Table | IndexedBy


def _select(t: Source = membership_changes) -> sa.Select[Any]:
    c = t.c
    return sa.select(c.seq, c.segment_number, c.member_id, c.change, c.cause, c.at)


def _of_segment(t: Source, numbers: list[int]) -> sa.ColumnElement[bool]:
    if len(numbers) == 1:
        return t.c.segment_number == numbers[0]
    return t.c.segment_number.in_(numbers)


def _changes(conn: Connection, tenant_id: int, query: sa.Select[Any]) -> list[Change]:
    """The rows of ``query`` as changes, each segment named by id and list: a second query
    for the page's few segments rather than a join, whose plan SQLite might drive from the
    small table (every segment's changes sorted for one page)."""
    rows = conn.execute(query).all()
    numbers = sorted({int(row.segment_number) for row in rows})
    named = (
        {
            int(n): (i, int(li))
            for n, i, li in conn.execute(
                sa.select(_hs.segment_number, _hs.segment_id, _hs.list_id).where(
                    _hs.tenant_id == tenant_id, _hs.segment_number.in_(numbers)
                )
            )
        }
        if numbers
        else {}
    )
    return [
        Change(
            int(seq),
            *named[int(number)],
            int(member_id),
            CHANGE_NAMES[int(change)],
            CAUSE_NAMES[int(cause)],
            int(at),
        )
        for seq, number, member_id, change, cause, at in rows
    ]


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
    t: Source = membership_changes
    where = []
    if segment_id is not None:
        numbers = _numbers_of(conn, tenant_id, segment_id)
        if not numbers:
            return []
        t = _BY_SEGMENT
        where.append(_of_segment(t, numbers))
    query = _select(t).where(t.c.tenant_id == tenant_id, t.c.seq > after_seq, *where)
    return _changes(conn, tenant_id, query.order_by(t.c.seq).limit(limit))


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
    numbers = None if segment_id is None else _numbers_of(conn, tenant_id, segment_id)
    top = None if before_seq is None else before_seq - 1
    blocks = None if member_id is None else _blocks(conn, tenant_id, 0, top)
    if numbers == [] or blocks == []:
        return []
    t: Source = _BY_MEMBER if blocks else _BY_SEGMENT if numbers else membership_changes
    where = [t.c.tenant_id == tenant_id]
    if before_seq is not None:
        where.append(t.c.seq < before_seq)
    if numbers:
        where.append(_of_segment(t, numbers))
    if blocks:
        where += [t.c.seq_block.in_(blocks), t.c.member_id == member_id]
    query = _select(t).where(*where).order_by(t.c.seq.desc()).limit(limit)
    return _changes(conn, tenant_id, query)


def _numbers_of(conn: Connection, tenant_id: int, segment_id: str) -> list[int]:
    """The segment's number (a list: ids are not constrained unique across deletions)."""
    found = sa.select(_hs.segment_number).where(
        _hs.tenant_id == tenant_id, _hs.segment_id == segment_id
    )
    return [int(n) for n in conn.execute(found).scalars()]


def _blocks(conn: Connection, tenant_id: int, after_seq: int, upto: int | None) -> list[int]:
    """The blocks of the member index holding the tenant's changes with ``after_seq < seq <=
    upto`` (``upto`` None: the last): each is one seek of a member's changes. Two seeks on
    the primary key (min and max in one SELECT would scan it on SQLite)."""
    key = (_mc.tenant_id == tenant_id, _mc.seq > after_seq)
    first = sa.select(sa.func.min(_mc.seq)).where(*key).scalar_subquery()
    last = sa.select(sa.func.max(_mc.seq)).where(*key).scalar_subquery()
    low, high = conn.execute(sa.select(first, last)).one()
    if low is None:
        return []
    if upto is not None:
        high = min(int(high), upto)
    return list(range(int(low) // SEQ_BLOCK, int(high) // SEQ_BLOCK + 1))


def last_seq(conn: Connection, tenant_id: int) -> int:
    """The tenant's last committed change (0: none yet): a cursor reading only later ones."""
    found = conn.execute(sa.select(sa.func.max(_mc.seq)).where(_mc.tenant_id == tenant_id))
    return int(found.scalar() or 0)


def members_moved_since(
    conn: Connection, tenant_id: int, segment_number: int, after_seq: int, lo: int, hi: int
) -> set[int]:
    """The members with ids in (lo, hi] whose membership of the segment changed after
    ``after_seq`` (its index by segment: the changes since, then the range)."""
    t = _BY_SEGMENT
    query = sa.select(t.c.member_id).where(
        t.c.tenant_id == tenant_id,
        t.c.segment_number == segment_number,
        t.c.seq > after_seq,
        t.c.member_id > lo,
        t.c.member_id <= hi,
    )
    return {int(m) for m in conn.execute(query.distinct()).scalars()}


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
    blocks = _blocks(conn, tenant_id, after_seq, None)
    if not blocks:
        return []
    t = _BY_MEMBER
    where = [
        t.c.tenant_id == tenant_id,
        t.c.seq_block.in_(blocks),
        t.c.member_id == member_id,
        t.c.seq > after_seq,
    ]
    if segment_id is not None:
        where.append(t.c.segment_number.in_(_numbers_of(conn, tenant_id, segment_id)))
    query = _select(t).where(*where).order_by(t.c.seq).limit(limit)
    return _changes(conn, tenant_id, query)


def member_state_at(
    conn: Connection, tenant_id: int, segment_id: str, member_id: int, at: int
) -> bool | None:
    """Whether the member was in the segment at ``at`` (epoch seconds) by its history: the last
    change at or before then says so, or else the first one after it (the opposite of it: a
    member's changes in a segment alternate); None when the history has no change of it."""
    numbers = _numbers_of(conn, tenant_id, segment_id)
    blocks = _blocks(conn, tenant_id, 0, None) if numbers else []
    if not blocks:
        return None
    t = _BY_MEMBER
    change = sa.select(t.c.change).where(
        t.c.tenant_id == tenant_id,
        t.c.seq_block.in_(blocks),
        t.c.member_id == member_id,
        t.c.segment_number.in_(numbers),
    )
    before = conn.execute(change.where(t.c.at <= at).order_by(t.c.seq.desc()).limit(1)).scalar()
    if before is not None:
        return int(before) == ENTERED
    after = conn.execute(change.where(t.c.at > at).order_by(t.c.seq).limit(1)).scalar()
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
