"""Which members a generation holds, whichever way its rows store it.

A generation's ``segment_members`` rows are its members, or, for a segment matching most of
its list, its complement up to a ``horizon``: for member ids at or below it the rows are the
list members the generation leaves out; above it (members who joined the list after the
build passed them) the rows are members again. A horizon of 0 is the plain form.

Why: a build's cost is the rows it writes, and a segment holding most of its list writes far
fewer as a complement. Bucket counts (``membership.buckets``), ``member_total`` and
``segment_exclusions`` count members in both forms; only the rows flip.

A published generation's horizon is ``segments.horizon``; a build writing a complement
(``build_jobs.complement``) has its ``cursor`` for horizon: the ids it has passed.
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from sqlalchemy.sql import ColumnElement

from ..storage.schema import members, segment_members


def build_horizon(complement: bool, cursor: int) -> int:
    """The horizon of a build's generation: its cursor when it writes a complement."""
    return cursor if complement else 0


def holds(present: bool, member_id: int, horizon: int) -> bool:
    """Whether a list member with (``present``) or without a row is in the generation."""
    return present != (member_id <= horizon)


def held(
    member_id: ColumnElement[Any], present: ColumnElement[bool], horizon: Any
) -> ColumnElement[bool]:
    """``holds`` in SQL, for a member of the segment's list."""
    return sa.or_(
        sa.and_(present, member_id > horizon),
        sa.and_(~present, member_id <= horizon),
    )


def row_of(
    tenant_id: Any, segment_number: Any, generation: Any, member_id: ColumnElement[Any]
) -> ColumnElement[bool]:
    """Whether the generation has a row for ``member_id`` (a seek on the primary key)."""
    sm = segment_members.c
    return sa.exists().where(
        sm.tenant_id == tenant_id,
        sm.segment_number == segment_number,
        sm.generation == generation,
        sm.member_id == member_id,
    )


def held_matching(
    tenant_id: int,
    list_id: int,
    segment_number: int,
    generation: int,
    horizon: int,
    where: ColumnElement[bool],
) -> sa.CompoundSelect:
    """The ids of the list's members satisfying ``where`` that a complement generation holds.

    Two queries, below and above the horizon, rather than ``held`` in one: PostgreSQL runs
    an OR of EXISTS tests as two subplans per member, and each half
    alone as an anti-join or a semi-join.
    """
    m = members.c
    present = row_of(tenant_id, segment_number, generation, m.id)
    listed = [m.tenant_id == tenant_id, m.list_id == list_id, where]
    below = sa.select(m.id).where(*listed, m.id <= horizon, ~present)
    above = sa.select(m.id).where(*listed, m.id > horizon, present)
    return sa.union_all(below, above)


def held_ids(
    tenant_id: int,
    list_id: int,
    segment_number: int,
    generation: int,
    horizon: int,
    start: int = 0,
) -> sa.Select[Any]:
    """The ids the generation holds from ``start`` on, in id order (add limit, offset).

    The plain form walks its rows' primary key; a complement walks the list's members by
    the (tenant_id, list_id, id) index and seeks each one's row.
    """
    if horizon <= 0:
        sm = segment_members.c
        return (
            sa.select(sm.member_id)
            .where(
                sm.tenant_id == tenant_id,
                sm.segment_number == segment_number,
                sm.generation == generation,
                sm.member_id >= start,
            )
            .order_by(sm.member_id)
        )
    # One query with ``held`` here: walking the index in order, it stops after a page.
    m = members.c
    present = row_of(tenant_id, segment_number, generation, m.id)
    return (
        sa.select(m.id)
        .where(
            m.tenant_id == tenant_id,
            m.list_id == list_id,
            m.id >= start,
            held(m.id, present, horizon),
        )
        .order_by(m.id)
    )
