"""Whether one member is in a segment's published membership now, whichever form its rows
take (``membership.complement``), and which segments of its list hold it."""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from ..storage.schema import members, segment_members, segments
from ..storage.segments import Segment
from .complement import holds, row_of


def holds_member(conn: Connection, segment: Segment, member_id: int) -> bool:
    """Whether the segment's published generation holds the member (of its list)."""
    if segment.generation <= 0:
        return False
    m = members.c
    present = row_of(segment.tenant_id, segment.number, segment.generation, m.id)
    row = conn.execute(
        sa.select(present.label("present")).where(
            m.tenant_id == segment.tenant_id, m.list_id == segment.list_id, m.id == member_id
        )
    ).first()
    return row is not None and holds(bool(row.present), member_id, segment.horizon)


def segments_holding_member(
    conn: Connection, tenant_id: int, list_id: int, member_id: int
) -> list[str]:
    """The ids of the list's segments whose published generation holds the member: one
    query, a primary-key seek per segment."""
    s, sm = segments.c, segment_members.c
    present = sa.exists().where(
        sm.tenant_id == s.tenant_id,
        sm.segment_number == s.number,
        sm.generation == s.generation,
        sm.member_id == member_id,
    )
    below = sa.literal(member_id, sa.BigInteger) <= s.horizon  # a row: a member left out
    return list(
        conn.execute(
            sa.select(s.id).where(
                s.tenant_id == tenant_id,
                s.list_id == list_id,
                s.generation > 0,
                sa.or_(sa.and_(present, ~below), sa.and_(~present, below)),
            )
        ).scalars()
    )
