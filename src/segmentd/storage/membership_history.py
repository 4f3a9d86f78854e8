"""Reading the membership history (``history_blocks``, written by ``storage.change_log``).

The change feed is read with a keyset cursor: the ``seq`` of the last change read. Seqs are
given out per tenant in commit order, so a reader that stores the cursor and asks for
``seq > cursor`` gets every change once, in order, across restarts. The changes are stored as
blocks of member ids (``id_blocks``), each keyed by its last seq: a page past a cursor starts
at the first block whose last seq is past it and skips that block's first ids. A segment's
feed reads its index by segment number (``history_segments`` maps ids to numbers, and back
for every change read). A member's history and "was the member in the segment at time T"
read the member index one window per level of block (``id_blocks.window_starts``), in one
statement, and search each candidate block's ids in place.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from datetime import date
from typing import Any, NamedTuple

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Row

from . import id_blocks
from .change_log import CAUSE_NAMES, CHANGE_NAMES, ENTERED
from .schema import change_counters, history_blocks, history_segments, segment_sizes
from .sqlite_plans import IndexedBy

_hb = history_blocks.c
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


# (seq, segment number, member id, change, cause code, at): a change as stored, unnamed.
_Raw = tuple[int, int, int, int, int, int]

# SQLite has no statistics here: a rare segment's feed page would walk the tenant's whole
# history by the primary key. Its reads name their index there; PostgreSQL's statistics choose.
_BY_SEGMENT = IndexedBy(history_blocks, "ix_history_blocks_tenant_id_segment_number_last_seq")
_MEMBER_INDEX = "ix_history_blocks_tenant_id_level_lo_hi"
Source = sa.Table | IndexedBy


def _select(t: Source = history_blocks) -> sa.Select[Any]:
    c = t.c
    return sa.select(
        c.last_seq, c.size, c.segment_number, c.change, c.cause, c.at, c.lo, c.level, c.ids
    )


def _unpacked(block: Row[Any], after_seq: int = 0, before_seq: int | None = None) -> list[_Raw]:
    """The block's changes with ``after_seq < seq < before_seq``, in seq order."""
    first = int(block.last_seq) - int(block.size) + 1
    start = max(after_seq + 1 - first, 0)
    end = None if before_seq is None else max(before_seq - first, 0)
    offsets = id_blocks.offsets(int(block.level), block.ids)[start:end]
    number, change, cause, at = (int(block.segment_number), int(block.change),
                                 int(block.cause), int(block.at))  # fmt: skip
    lo = int(block.lo)
    return [
        (first + start + k, number, lo + offset, change, cause, at)
        for k, offset in enumerate(offsets)
    ]


def _of_segment(t: Source, numbers: list[int]) -> sa.ColumnElement[bool]:
    if len(numbers) == 1:
        return t.c.segment_number == numbers[0]
    return t.c.segment_number.in_(numbers)


def _changes(conn: Connection, tenant_id: int, raw: list[_Raw]) -> list[Change]:
    """The changes, each segment named by id and list: a second query for the page's few
    segments rather than a join, whose plan SQLite might drive from the small table."""
    numbers = sorted({number for _, number, *_ in raw})
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
        Change(seq, *named[number], member_id, CHANGE_NAMES[change], CAUSE_NAMES[cause], at)
        for seq, number, member_id, change, cause, at in raw
    ]


def _in_order(
    conn: Connection,
    query: sa.Select[Any],
    t: Source,
    limit: int,
    *,
    past: int | None,
    newest_first: bool,
) -> Iterator[Row[Any]]:
    """The blocks of ``query`` in last seq order (or newest first) past ``past`` (None: from
    the first or the newest), fetched in batches that grow until they hold about ``limit``
    changes: a page of a publish's changes is a few blocks, of real-time ones many more."""
    key = t.c.last_seq
    order = key.desc() if newest_first else key
    batch = min(limit, -(-limit // id_blocks.BLOCK) + 1)
    held = 0
    while batch > 0:
        page = query.order_by(order).limit(batch)
        if past is not None:
            page = page.where(key < past if newest_first else key > past)
        rows = conn.execute(page).all()
        yield from rows
        if len(rows) < batch:
            return
        past = int(rows[-1].last_seq)
        held += sum(int(row.size) for row in rows)
        batch = min(max(limit - held, 1), 2 * batch)


def _first(changes: Iterable[list[_Raw]], limit: int) -> list[_Raw]:
    """At most ``limit`` changes of the blocks' changes, in their order; reads no further."""
    found: list[_Raw] = []
    for block in changes:
        found += block[: limit - len(found)]
        if len(found) >= limit:
            break
    return found


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
    t: Source = history_blocks
    where = [t.c.tenant_id == tenant_id]
    if segment_id is not None:
        numbers = _numbers_of(conn, tenant_id, segment_id)
        if not numbers:
            return []
        t = _BY_SEGMENT
        where = [t.c.tenant_id == tenant_id, _of_segment(t, numbers)]
    blocks = _in_order(conn, _select(t).where(*where), t, limit, past=after_seq, newest_first=False)
    return _changes(conn, tenant_id, _first((_unpacked(b, after_seq) for b in blocks), limit))


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
    if numbers == []:
        return []
    if member_id is not None:
        found = [
            c
            for c in reversed(_member_history(conn, tenant_id, member_id))
            if (before_seq is None or c[0] < before_seq) and (numbers is None or c[1] in numbers)
        ]
        return _changes(conn, tenant_id, found[:limit])
    t: Source = _BY_SEGMENT if numbers else history_blocks
    where = [t.c.tenant_id == tenant_id]
    if numbers:
        where.append(_of_segment(t, numbers))
    # A block holding seq before_seq - 1 ends fewer than BLOCK seqs after it.
    past = None if before_seq is None else before_seq + id_blocks.BLOCK
    blocks = _in_order(conn, _select(t).where(*where), t, limit, past=past, newest_first=True)
    newest = (_unpacked(b, 0, before_seq)[::-1] for b in blocks)
    return _changes(conn, tenant_id, _first(newest, limit))


def _numbers_of(conn: Connection, tenant_id: int, segment_id: str) -> list[int]:
    """The segment's number (a list: ids are not constrained unique across deletions)."""
    found = sa.select(_hs.segment_number).where(
        _hs.tenant_id == tenant_id, _hs.segment_id == segment_id
    )
    return [int(n) for n in conn.execute(found).scalars()]


def _member_statement(sqlite: bool) -> sa.TextClause:
    """The blocks that may hold member ``:m``: per level L, those of the member index with
    ``lo`` in ``[start of L, m]`` and ``hi >= m``. Each database is told the join's order
    (SQLite would drive it from the primary key; PostgreSQL hashed a small history, and
    ``OFFSET 0`` keeps its lateral subquery a seek per level)."""
    columns = "b.last_seq, b.size, b.segment_number, b.change, b.cause, b.at, b.lo, b.level, b.ids"
    window = "b.tenant_id = :t AND b.lo BETWEEN l.value AND :m AND b.hi >= :m"
    if sqlite:
        return sa.text(
            f"SELECT {columns} FROM json_each(:starts) AS l CROSS JOIN history_blocks AS b"
            f" INDEXED BY {_MEMBER_INDEX} ON b.level = l.key AND {window}"
        )
    return sa.text(
        f"SELECT {columns} FROM unnest(CAST(:starts AS BIGINT[])) WITH ORDINALITY AS l(value, k)"
        f" CROSS JOIN LATERAL (SELECT * FROM history_blocks AS b WHERE b.level = l.k - 1"
        f" AND {window} OFFSET 0) AS b"
    )


_MEMBER = {True: _member_statement(True), False: _member_statement(False)}


def _member_history(conn: Connection, tenant_id: int, member_id: int) -> list[_Raw]:
    """Every recorded change of the member, in seq order (a few per publish that moved it)."""
    sqlite = conn.dialect.name == "sqlite"
    starts = id_blocks.window_starts(member_id)
    params = {"t": tenant_id, "m": member_id, "starts": json.dumps(starts) if sqlite else starts}
    found = []
    for block in conn.execute(_MEMBER[sqlite], params):
        level, lo = int(block.level), int(block.lo)
        k = id_blocks.position(lo, level, block.ids, member_id)
        if k is not None:
            seq = int(block.last_seq) - int(block.size) + 1 + k
            found.append((seq, int(block.segment_number), member_id, int(block.change),
                          int(block.cause), int(block.at)))  # fmt: skip
    return sorted(found)


def last_seq(conn: Connection, tenant_id: int) -> int:
    """The tenant's last committed change (0: none yet): a cursor reading only later ones."""
    found = conn.execute(sa.select(sa.func.max(_hb.last_seq)).where(_hb.tenant_id == tenant_id))
    return int(found.scalar() or 0)


def members_moved_since(
    conn: Connection, tenant_id: int, segment_number: int, after_seq: int, lo: int, hi: int
) -> set[int]:
    """The members with ids in (lo, hi] whose membership of the segment changed after
    ``after_seq`` (its index by segment: the blocks since, then those meeting the range)."""
    t = _BY_SEGMENT
    query = _select(t).where(
        t.c.tenant_id == tenant_id,
        t.c.segment_number == segment_number,
        t.c.last_seq > after_seq,
        t.c.lo <= hi,
        t.c.hi > lo,
    )
    return {
        member
        for block in conn.execute(query)
        for _, _, member, *_ in _unpacked(block, after_seq)
        if lo < member <= hi
    }


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
    numbers = None if segment_id is None else _numbers_of(conn, tenant_id, segment_id)
    found = [
        c
        for c in _member_history(conn, tenant_id, member_id)
        if c[0] > after_seq and (numbers is None or c[1] in numbers)
    ]
    return _changes(conn, tenant_id, found[:limit])


def member_state_at(
    conn: Connection, tenant_id: int, segment_id: str, member_id: int, at: int
) -> bool | None:
    """Whether the member was in the segment at ``at`` (epoch seconds) by its history: the last
    change at or before then says so, or else the first one after it (the opposite of it: a
    member's changes in a segment alternate); None when the history has no change of it."""
    numbers = _numbers_of(conn, tenant_id, segment_id)
    if not numbers:
        return None
    mine = [c for c in _member_history(conn, tenant_id, member_id) if c[1] in numbers]
    before = [change for _, _, _, change, _, when in mine if when <= at]
    if before:
        return before[-1] == ENTERED
    after = [change for _, _, _, change, _, when in mine if when > at]
    if after:
        return after[0] != ENTERED
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
    """Delete the tenant's oldest changes made before ``cutoff`` (epoch seconds), whole
    blocks, until at least ``limit`` are gone or none is left; how many. Seqs grow with time,
    so they are the first blocks by seq."""
    oldest = conn.execute(
        sa.select(_hb.last_seq, _hb.size)
        .where(_hb.tenant_id == tenant_id, _hb.at < cutoff)
        .order_by(_hb.last_seq)
        .limit(limit)
    ).all()
    count, upto = 0, None
    for last, size in oldest:
        count, upto = count + int(size), int(last)
        if count >= limit:
            break
    if upto is None:
        return 0
    conn.execute(
        sa.delete(history_blocks).where(
            _hb.tenant_id == tenant_id, _hb.last_seq <= upto, _hb.at < cutoff
        )
    )
    return count


def tenants_with_history(conn: Connection) -> list[int]:
    return [int(t) for t in conn.execute(sa.select(change_counters.c.tenant_id)).scalars()]
