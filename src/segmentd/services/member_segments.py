"""The segments one member is in now: each segment of the member's list asked whether its
published membership holds the member (the UI's member page)."""

from __future__ import annotations

import sqlalchemy as sa

from ..domain.errors import NotFound
from ..membership import store
from ..storage.db import Database
from ..storage.schema import members
from ..storage.segments import Segment, list_segments

MAX_CHECKED = 500  # segments of a list asked about one member (one indexed read each)


def segments_holding(db: Database, tenant_id: int, member_id: int) -> tuple[list[Segment], bool]:
    """The segments of the member's list holding it now, by name, and whether the list has
    more than ``MAX_CHECKED`` segments (the newest are asked, the others not). NotFound: no
    such member."""
    with db.snapshot() as conn:
        list_id = conn.execute(
            sa.select(members.c.list_id).where(
                members.c.tenant_id == tenant_id, members.c.id == member_id
            )
        ).scalar()
        if list_id is None:
            raise NotFound(str(member_id))
        found, total = list_segments(
            conn, tenant_id, list_id=int(list_id), offset=0, limit=MAX_CHECKED
        )
        holding = [s for s in found if store().holds_member(conn, s, member_id)]
    return sorted(holding, key=lambda s: (s.name, s.id)), total > MAX_CHECKED
