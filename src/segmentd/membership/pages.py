"""Reading a segment's published members: pages (by offset, optionally filtered) and the
whole membership in batches (exports).

Every read names the published generation and its form (``membership.complement``). Run
them in a snapshot (``Database.snapshot``) with the segment read in it: counts, rows and
the segment must agree.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection
from sqlalchemy.sql import ColumnElement

from ..storage.schema import members, segment_members, segments
from ..storage.segments import Segment, is_segment
from . import buckets
from .complement import held_ids, held_matching


def member_page(
    conn: Connection,
    segment: Segment,
    *,
    where: ColumnElement[bool] | None = None,
    offset: int = 0,
    limit: int = 10,
) -> tuple[list[int], int]:
    """Ids of one page of the published members (by id) that satisfy ``where``, and their count.

    ``where`` is a boolean over ``members`` (``storage.compiler.compile_condition``).
    """
    sm = segment_members.c
    # Without a filter, page the published rows alone (their primary key, in order, no sort
    # of the joined membership) and take the total the segment keeps.
    if where is None:
        return _unfiltered_page(conn, segment, offset, limit), segment.member_total
    if segment.horizon > 0:
        held = held_matching(*_published_key(segment), segment.horizon, where)
        found = held.subquery()
        query = sa.select(found.c.id)
        order: ColumnElement[Any] = found.c.id
    else:
        query = (
            sa.select(members.c.id)
            .select_from(
                segment_members.join(
                    members,
                    sa.and_(members.c.tenant_id == sm.tenant_id, members.c.id == sm.member_id),
                )
            )
            .where(_published_rows(segment), where)
        )
        order = sm.member_id
    total = conn.execute(sa.select(sa.func.count()).select_from(query.subquery())).scalar_one()
    ids = conn.execute(query.order_by(order).offset(offset).limit(limit)).scalars()
    return [int(member_id) for member_id in ids], int(total)


def _published_key(segment: Segment) -> tuple[int, int, int, int]:
    """(tenant, list, number, generation) of the published generation, as ``membership``
    takes them. Run in a snapshot (``Database.snapshot``) with ``segment`` read in it."""
    return segment.tenant_id, segment.list_id, segment.number, segment.generation


def _published_rows(segment: Segment) -> ColumnElement[bool]:
    """Rows of the generation published when the statement runs (a swap may have happened)."""
    published = (
        sa.select(segments.c.generation)
        .where(is_segment(segment.tenant_id, segment.id))
        .scalar_subquery()
    )
    sm = segment_members.c
    return sa.and_(
        sm.tenant_id == segment.tenant_id,
        sm.segment_number == segment.number,
        sm.generation == published,
    )


def _unfiltered_page(conn: Connection, segment: Segment, offset: int, limit: int) -> list[int]:
    """One page of the published ids: the bucket counts say where the page starts,
    so a page costs a seek and a walk of at most one bucket at any offset.

    Run in a snapshot (``Database.snapshot``): counts, rows and ``segment`` must agree.
    """
    start, skip = buckets.locate(
        conn, segment.tenant_id, segment.number, segment.generation, offset
    )
    held = held_ids(*_published_key(segment), segment.horizon, start)
    ids = conn.execute(held.offset(skip).limit(limit)).scalars()
    return [int(member_id) for member_id in ids]


def published_member_ids(
    conn: Connection, segment: Segment, batch: int = 500
) -> Iterator[list[int]]:
    """The published members of ``segment`` in id order, ``batch`` at a time (keyset paging).

    Run inside ``Database.snapshot()``: a build publishing meanwhile cannot cut it short.
    """
    after = 0
    while True:
        held = held_ids(*_published_key(segment), segment.horizon, after + 1)
        ids = [int(member_id) for member_id in conn.execute(held.limit(batch)).scalars()]
        if not ids:
            return
        yield ids
        after = ids[-1]
