"""The segments one member is in now, by name (the UI's member page)."""

from __future__ import annotations

import sqlalchemy as sa

from ..domain.errors import NotFound
from ..membership import store
from ..storage.db import Database
from ..storage.schema import members
from ..storage.segments import Segment, get_segment


def segments_holding(db: Database, tenant_id: int, member_id: int) -> list[Segment]:
    """The segments of the member's list whose published membership holds it now, by name.
    NotFound: no such member."""
    with db.snapshot() as conn:
        list_id = conn.execute(
            sa.select(members.c.list_id).where(
                members.c.tenant_id == tenant_id, members.c.id == member_id
            )
        ).scalar()
        if list_id is None:
            raise NotFound(str(member_id))
        ids = store().segments_holding(conn, tenant_id, int(list_id), member_id)
        found = [get_segment(conn, tenant_id, segment_id) for segment_id in ids]
    holding = [segment for segment in found if segment is not None]
    return sorted(holding, key=lambda s: (s.name, s.id))
