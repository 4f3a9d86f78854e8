"""Whether one member is in a segment's published membership now, whichever form its rows
take (``membership.complement``)."""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from ..storage.schema import members
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
