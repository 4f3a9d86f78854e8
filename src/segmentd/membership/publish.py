"""Publishing a generation, and discarding one that can never be published.

The published generation is ``segments.generation``: readers read only that one, so one
update of the segment row swaps a whole membership in, when the caller's transaction
commits. Its total comes from the bucket counts, which are exact (``membership.buckets``).
"""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from ..domain.statuses import SegmentStatus
from ..storage import change_log
from ..storage.schema import segment_members, segments
from ..timefmt import now
from . import buckets
from .interface import GenerationKey
from .publish_changes import Published, publish_difference


def count(conn: Connection, key: GenerationKey) -> int:
    """The members of the generation (the counts are exact, and cheaper to sum than rows)."""
    return buckets.total(conn, key.tenant_id, key.segment_number, key.generation)


def publish(conn: Connection, key: GenerationKey, horizon: int) -> int:
    """Swap ``key``'s generation in and mark the segment complete; return its members.

    The caller holds the segment row's lock and the build's lease. ``horizon``: the
    generation is a complement up to it (0: plain). The previous generation is now stale.
    """
    total = count(conn, key)
    _stage_history(conn, key, horizon)
    conn.execute(
        sa.update(segments)
        .where(segments.c.tenant_id == key.tenant_id, segments.c.id == key.segment_id)
        .values(
            generation=key.generation,
            horizon=horizon,
            member_total=total,
            status=SegmentStatus.COMPLETE,
            percent=100,
            error=None,
            built_at=now(),
            updated_at=now(),
        )
    )
    return total


def _stage_history(conn: Connection, key: GenerationKey, horizon: int) -> None:
    """Stage the difference from the published generation to ``key``'s in the history."""
    s = segments.c
    row = conn.execute(
        sa.select(s.list_id, s.generation, s.horizon).where(
            s.tenant_id == key.tenant_id, s.id == key.segment_id
        )
    ).one()
    before = Published(key.tenant_id, row.list_id, key.segment_number, row.generation, row.horizon)
    after = Published(key.tenant_id, row.list_id, key.segment_number, key.generation, horizon)
    difference = publish_difference(key.segment_id, before, after, conn.dialect.name)
    change_log.stage_query(conn, key.tenant_id, difference)


def discard(conn: Connection, key: GenerationKey) -> None:
    """Delete the rows and counts of a generation that can never publish."""
    sm = segment_members.c
    conn.execute(
        sa.delete(segment_members).where(
            sm.tenant_id == key.tenant_id,
            sm.segment_number == key.segment_number,
            sm.generation == key.generation,
        )
    )
    buckets.drop(conn, key.tenant_id, key.segment_number, key.generation)
