"""Members removed from a segment by hand: recorded as exclusions, which every later build
leaves out, and taken out of every live generation at once (whatever its form), with their
counts, in the caller's transaction.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from sqlalchemy.engine import Connection
from sqlalchemy.sql import ColumnElement

from ..domain.statuses import JobState
from ..storage import change_log
from ..storage.change_log import LEFT
from ..storage.schema import build_jobs, members, segment_exclusions, segment_members, segments
from ..storage.segments import Segment, get_segment, is_segment
from . import buckets
from .complement import build_horizon, holds


def remove_members(
    conn: Connection, tenant_id: int, segment_id: str, member_ids: Sequence[int]
) -> int | None:
    """Take members out of a segment for good; return how many left the published membership.

    Ids that are members of the segment's list are recorded as exclusions, so later builds
    leave them out, and leave every live generation, including a build's generation being
    filled. None when the tenant has no such segment.
    """
    segment = get_segment(conn, tenant_id, segment_id, for_update=True)
    if segment is None:
        return None
    ids = _listed(conn, segment, sorted(set(member_ids)))
    if not ids:
        return 0
    _exclude(conn, segment, ids)
    removed: list[int] = []
    for generation, horizon in _live_generations(conn, segment):
        gone = _take_out(conn, segment, generation, horizon, ids)
        if generation == segment.generation:
            removed = gone
    change_log.stage(conn, tenant_id, [(segment_id, m, LEFT) for m in removed], "removal")
    if removed:
        conn.execute(
            sa.update(segments)
            .where(is_segment(tenant_id, segment_id))
            .values(member_total=segments.c.member_total - len(removed))
        )
    return len(removed)


def _live_generations(conn: Connection, segment: Segment) -> list[tuple[int, int]]:
    """(generation, horizon) of the published generation and of queued or running builds:
    stale ones are never read, and their rows are deleted whole
    (``membership.stale``)."""
    jobs = build_jobs.c
    building = conn.execute(
        sa.select(jobs.generation, jobs.complement, jobs.cursor).where(
            jobs.tenant_id == segment.tenant_id,
            jobs.segment_id == segment.id,
            jobs.state.in_([JobState.QUEUED, JobState.RUNNING]),
        )
    ).all()
    found = {
        int(gen): build_horizon(complement, int(cursor)) for gen, complement, cursor in building
    }
    if segment.generation > 0:
        found[segment.generation] = segment.horizon
    return sorted(found.items())


def _take_out(
    conn: Connection, segment: Segment, generation: int, horizon: int, ids: list[int]
) -> list[int]:
    """Take these list members out of one generation, with their bucket counts; those that
    were in it. A complement gains their rows; the plain form loses them."""
    sm = segment_members.c
    key = _generation_rows(segment, generation)
    found = conn.execute(sa.select(sm.member_id).where(*key, sm.member_id.in_(ids))).scalars()
    present = set(found)
    held = [m for m in ids if holds(m in present, m, horizon)]
    if not held:
        return []
    dropped = [m for m in held if m in present]
    if dropped:
        conn.execute(sa.delete(segment_members).where(*key, sm.member_id.in_(dropped)))
    added = [m for m in held if m not in present]
    if added:
        conn.execute(
            sa.insert(segment_members),
            [
                {
                    "tenant_id": segment.tenant_id,
                    "segment_number": segment.number,
                    "generation": generation,
                    "member_id": member_id,
                }
                for member_id in added
            ],
        )
    removed = [(segment.number, generation, member_id) for member_id in held]
    buckets.adjust(conn, segment.tenant_id, removed=removed)
    return held


def _generation_rows(segment: Segment, generation: int) -> list[ColumnElement[bool]]:
    sm = segment_members.c
    return [
        sm.tenant_id == segment.tenant_id,
        sm.segment_number == segment.number,
        sm.generation == generation,
    ]


def _listed(conn: Connection, segment: Segment, ids: list[int]) -> list[int]:
    """Those of ``ids`` that are members of the segment's list."""
    if not ids:
        return []
    listed = conn.execute(
        sa.select(members.c.id).where(
            members.c.tenant_id == segment.tenant_id,
            members.c.list_id == segment.list_id,
            members.c.id.in_(ids),
        )
    ).scalars()
    return sorted(int(member_id) for member_id in listed)


def _exclude(conn: Connection, segment: Segment, ids: list[int]) -> None:
    """Record exclusions of ``ids``, members of the segment's list."""
    ex = segment_exclusions.c
    already = set(
        conn.execute(
            sa.select(ex.member_id).where(
                ex.tenant_id == segment.tenant_id,
                ex.segment_id == segment.id,
                ex.member_id.in_(ids),
            )
        ).scalars()
    )
    rows = [
        {"tenant_id": segment.tenant_id, "segment_id": segment.id, "member_id": member_id}
        for member_id in ids
        if member_id not in already
    ]
    if rows:
        conn.execute(sa.insert(segment_exclusions), rows)
