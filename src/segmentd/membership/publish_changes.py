"""What a build's publish changes in a segment's membership, as one set-based query: the
members the new generation holds and the previous one did not (entered), and the other way
round (left), staged in the membership history (``storage.change_log``) and run at the end
of the publishing transaction, when both generations are still there.

Two plain generations are compared by their rows (anti-joins, a walk of each generation's
rows); when either is stored as a complement (``membership.complement``) the list's members
are walked and each one's rows in both generations sought.
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa

from ..storage.change_log import ENTERED, LEFT, StagedQuery
from ..storage.schema import members, segment_members
from .complement import held, row_of


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


def publish_difference(segment_id: str, before: Published, after: Published) -> StagedQuery:
    """The (member_id, change) rows of moving from ``before`` to ``after`` (generation 0:
    empty), for the history with the cause "build"."""
    if before.horizon <= 0 and after.horizon <= 0:
        query = _plain_difference(before, after)
    else:
        query = _walked_difference(before, after)
    return StagedQuery(segment_id, "build", query)


def _change(value: int) -> sa.ColumnElement[Any]:
    return sa.literal(value, sa.SmallInteger).label("change")


def _rows_of(generation: Published) -> sa.Select[Any]:
    sm = segment_members.c
    return sa.select(sm.member_id).where(
        sm.tenant_id == generation.tenant_id,
        sm.segment_number == generation.number,
        sm.generation == generation.generation,
    )


def _plain_difference(before: Published, after: Published) -> sa.Select[Any] | sa.CompoundSelect:
    sm = segment_members.c
    new_rows = _rows_of(after).add_columns(_change(ENTERED))
    if before.generation <= 0:
        return new_rows
    entered = new_rows.where(
        ~row_of(before.tenant_id, before.number, before.generation, sm.member_id)
    )
    left = (
        _rows_of(before)
        .add_columns(_change(LEFT))
        .where(~row_of(after.tenant_id, after.number, after.generation, sm.member_id))
    )
    return sa.union_all(entered, left)


def _walked_difference(before: Published, after: Published) -> sa.CompoundSelect:
    m = members.c
    now = held(m.id, row_of(after.tenant_id, after.number, after.generation, m.id), after.horizon)
    then: sa.ColumnElement[bool]
    if before.generation <= 0:
        then = sa.false()
    else:
        present = row_of(before.tenant_id, before.number, before.generation, m.id)
        then = held(m.id, present, before.horizon)
    listed = (m.tenant_id == after.tenant_id, m.list_id == after.list_id)
    entered = sa.select(m.id.label("member_id"), _change(ENTERED)).where(*listed, now, ~then)
    left = sa.select(m.id.label("member_id"), _change(LEFT)).where(*listed, then, ~now)
    return sa.union_all(entered, left)
