"""What a build's publish changes in a segment's membership, as one set-based query: the
members the new generation holds and the previous one did not (entered), and the other way
round (left), staged in the membership history (``storage.change_log``) and run at the end
of the publishing transaction, when both generations are still there.

Its cost follows the rows, not the list. A generation's rows are its members above its
horizon and the members it leaves out at or below it (``membership.complement``), so where
both generations store the same form, a member moved exactly where one generation has a
row and the other has none: the set difference (``EXCEPT``) of the two generations' rows,
each read once in key order. Only between the two horizons (usually the members who joined
the list between the two builds) are the list's members walked and each one's rows sought.
A first publish records every member it holds.

SQLite takes the difference as an ``EXCEPT`` ordered by member, each way: it merges the two
sides in key order rather than building a temporary b-tree of each. PostgreSQL takes both ways
at once, as one ``FULL JOIN`` of the two generations' rows kept where one side is missing:
merged in key order, it reads each generation once (two anti-joins read each twice; its
``EXCEPT`` sorted both generations together, on disk at 1,000,000 members). A generation's
rows are new since the last ``ANALYZE``: planned from statistics taken while the table was
nearly empty, a join became a nested loop reading the whole other generation for every row
(100,000 members: minutes), or a hash join spilling to disk. The history runs a merged
staged query with nested loops and hash joins off (``storage.change_log``). See
docs/performance.md.
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa

from ..storage.change_log import ENTERED, LEFT, StagedQuery
from ..storage.schema import members, segment_members
from .complement import held, held_matching, row_of

Query = sa.Select[Any] | sa.CompoundSelect


class Published:
    """A segment's published generation: (tenant, list, number, generation, horizon)."""

    def __init__(
        self, tenant_id: int, list_id: int, number: int, generation: int, horizon: int
    ) -> None:
        self.tenant_id = tenant_id
        self.list_id = list_id
        self.number = number
        self.generation = generation
        self.horizon = horizon

    def row_of(self, member_id: sa.ColumnElement[Any]) -> sa.ColumnElement[bool]:
        return row_of(self.tenant_id, self.number, self.generation, member_id)


def publish_difference(
    segment_id: str, before: Published, after: Published, dialect: str
) -> StagedQuery:
    """The (member_id, change) rows of moving from ``before`` to ``after`` (generation 0:
    empty), for the history with the cause "build"; ``dialect``: the database's name."""
    if before.generation <= 0:
        return StagedQuery(segment_id, "build", _everyone(after))
    lo, hi = sorted((before.horizon, after.horizon))
    below = (segment_members.c.member_id <= lo,)  # both complements: a row is a member left out
    above = (segment_members.c.member_id > hi,)  # both plain: a row is a member
    parts: list[Query] = []
    if dialect == "sqlite":
        if lo > 0:
            parts += [_rows_except(before, after, below, ENTERED)]
            parts += [_rows_except(after, before, below, LEFT)]
        parts += [
            _rows_except(after, before, above, ENTERED),
            _rows_except(before, after, above, LEFT),
        ]
    else:
        if lo > 0:
            parts.append(_rows_full_joined(before, after, below))
        parts.append(_rows_full_joined(after, before, above))
    if hi > lo:
        parts += _walked(before, after, lo, hi)
    # Merge joins only where nothing is walked: the walk seeks each member's rows.
    merged = dialect != "sqlite" and hi == lo
    return StagedQuery(segment_id, "build", sa.union_all(*parts), merged=merged)


def _change(value: int) -> sa.ColumnElement[Any]:
    return sa.literal(value, sa.SmallInteger).label("change")


def everyone_leaving(published: Published) -> Query:
    """Every member of a published generation, leaving (the segment deleted)."""
    return _everyone(published, LEFT)


def _everyone(after: Published, change: int = ENTERED) -> Query:
    """Every member of a published generation, as ``change`` (a first publish: entering)."""
    if after.horizon <= 0:
        sm = segment_members.c
        return sa.select(sm.member_id, _change(change)).where(
            sm.tenant_id == after.tenant_id,
            sm.segment_number == after.number,
            sm.generation == after.generation,
        )
    key = (after.tenant_id, after.list_id, after.number, after.generation, after.horizon)
    ids = held_matching(*key, sa.true()).subquery("held")
    return sa.select(ids.c.id.label("member_id"), _change(change))


def _rows_except(
    having: Published, lacking: Published, in_range: tuple[Any, ...], change: int
) -> sa.Select[Any]:
    """The rows of ``having`` in the range that ``lacking`` has not, as ``change``."""
    difference = ids_except(_rows(having, in_range), _rows(lacking, in_range))
    return sa.select(difference.c.member_id, _change(change))


def ids_except(having: sa.Select[Any], lacking: sa.Select[Any]) -> sa.Subquery:
    """SQLite: the ``member_id`` of ``having`` that ``lacking`` has not, ordered by member:
    SQLite then merges both sides as their primary key delivers them (no temporary b-tree of
    each: about a third of the time at 450,000 rows)."""
    rows = sa.except_(having, lacking)
    return rows.order_by(sa.literal_column("member_id")).subquery("difference")


def _rows_full_joined(
    entering: Published, leaving: Published, in_range: tuple[Any, ...]
) -> sa.Select[Any]:
    """The rows in the range only ``entering`` has, as ``ENTERED``, and those only ``leaving``
    has, as ``LEFT``: one join of both generations' rows (PostgreSQL merges them in key
    order, reading each once)."""
    mine = _rows(entering, in_range).subquery("mine")
    other = _rows(leaving, in_range).subquery("other")
    joined = mine.join(other, mine.c.member_id == other.c.member_id, full=True)
    member: sa.ColumnElement[Any] = sa.func.coalesce(mine.c.member_id, other.c.member_id)
    change: sa.ColumnElement[Any] = sa.case((other.c.member_id.is_(None), ENTERED), else_=LEFT)
    return (
        sa.select(member.label("member_id"), sa.cast(change, sa.SmallInteger).label("change"))
        .select_from(joined)
        .where(sa.or_(mine.c.member_id.is_(None), other.c.member_id.is_(None)))
    )


def _rows(generation: Published, in_range: tuple[Any, ...]) -> sa.Select[Any]:
    sm = segment_members.c
    return sa.select(sm.member_id).where(
        sm.tenant_id == generation.tenant_id,
        sm.segment_number == generation.number,
        sm.generation == generation.generation,
        *in_range,
    )


def _walked(before: Published, after: Published, lo: int, hi: int) -> list[Query]:
    """Between the horizons one generation's rows are members and the other's are not: walk
    the list's members there."""
    m = members.c
    now = held(m.id, after.row_of(m.id), after.horizon)
    then = held(m.id, before.row_of(m.id), before.horizon)
    listed = (m.tenant_id == after.tenant_id, m.list_id == after.list_id, m.id > lo, m.id <= hi)
    entered = sa.select(m.id.label("member_id"), _change(ENTERED)).where(*listed, now, ~then)
    left = sa.select(m.id.label("member_id"), _change(LEFT)).where(*listed, then, ~now)
    return [entered, left]
