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

SQLite takes the difference as an ``EXCEPT`` ordered by member: it merges the two sides in
key order rather than building a temporary b-tree of each. PostgreSQL takes it as an
anti-join (``NOT EXISTS``), which it merges in key order too, where its ``EXCEPT`` sorted both
generations together (on disk at 1,000,000 members) and could read the first by a scan of
the whole table. A generation's rows are new since the last ``ANALYZE``, and with statistics
taken while the table was nearly empty PostgreSQL planned that anti-join as a nested loop
reading the whole other generation for every row (100,000 members: minutes): the history
runs staged queries with nested loops off (``storage.change_log``). See docs/performance.md.
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from sqlalchemy.sql.util import ClauseAdapter

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
    only = _rows_except if dialect == "sqlite" else _rows_anti_joined
    parts: list[Query] = []
    if lo > 0:  # both complements: a row is a member left out
        below = (segment_members.c.member_id <= lo,)
        parts += [only(before, after, below, ENTERED), only(after, before, below, LEFT)]
    above = (segment_members.c.member_id > hi,)  # both plain: a row is a member
    parts += [only(after, before, above, ENTERED), only(before, after, above, LEFT)]
    if hi > lo:
        parts += _walked(before, after, lo, hi)
    return StagedQuery(segment_id, "build", sa.union_all(*parts))


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
    """The rows of ``having`` in the range that ``lacking`` has not, as ``change``. Ordered by
    member: SQLite then merges the two generations' rows as their primary key delivers them
    (no temporary b-tree of each generation: about a third of the time at 450,000 rows)."""
    rows = sa.except_(_rows(having, in_range), _rows(lacking, in_range))
    difference = rows.order_by(sa.literal_column("member_id")).subquery("difference")
    return sa.select(difference.c.member_id, _change(change))


def _rows_anti_joined(
    having: Published, lacking: Published, in_range: tuple[Any, ...], change: int
) -> sa.Select[Any]:
    """The same rows as ``_rows_except``, as an anti-join (PostgreSQL merges the two
    generations in key order, sorting nothing)."""
    mine, other = segment_members.alias("mine"), segment_members.alias("other")
    m, o = mine.c, other.c
    held_by_other = sa.exists().where(
        o.tenant_id == lacking.tenant_id,
        o.segment_number == lacking.number,
        o.generation == lacking.generation,
        o.member_id == m.member_id,
    )
    in_mine = [ClauseAdapter(mine).traverse(test) for test in in_range]
    return sa.select(m.member_id, _change(change)).where(
        m.tenant_id == having.tenant_id,
        m.segment_number == having.number,
        m.generation == having.generation,
        *in_mine,
        ~held_by_other,
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
