"""Reading the membership history: the change feed of a tenant or a segment, a member's
history, whether a member was in a segment at a time, and a segment's size by day.

The reads are ``storage.membership_history``'s; this adds what the answers need around them:
"not found" for another tenant's segment or member, the present membership where the history
has nothing to say, and sizes carried forward over the days nothing changed.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

from ..domain.errors import NotFound
from ..membership import store
from ..storage.db import Database
from ..storage.members import existing_ids
from ..storage.membership_history import (
    Change,
    member_changes,
    member_state_at,
    read_changes,
    recent_changes,
    segment_sizes_between,
)
from ..storage.segments import Segment, get_segment


def _segment(segment: Segment | None, segment_id: str) -> Segment:
    if segment is None:
        raise NotFound(segment_id)
    return segment


def tenant_feed(db: Database, tenant_id: int, after: int, limit: int) -> list[Change]:
    """The tenant's changes after the cursor ``after``, in order."""
    with db.read() as conn:
        return read_changes(conn, tenant_id, after_seq=after, limit=limit)


def segment_feed(
    db: Database, tenant_id: int, segment_id: str, after: int, limit: int
) -> list[Change]:
    """A segment's changes after the cursor ``after``, in order (NotFound: no such segment;
    a deleted segment's changes stay in the tenant's feed)."""
    with db.read() as conn:
        _segment(get_segment(conn, tenant_id, segment_id), segment_id)
        return read_changes(conn, tenant_id, after_seq=after, limit=limit, segment_id=segment_id)


def member_history(
    db: Database,
    tenant_id: int,
    member_id: int,
    after: int,
    limit: int,
    segment_id: str | None = None,
) -> list[Change]:
    """A member's changes in every segment (or one) after ``after``, in order (NotFound: the
    tenant has no such member and no history of one; a deleted member keeps its history)."""
    with db.read() as conn:
        found = member_changes(
            conn, tenant_id, member_id, after_seq=after, limit=limit, segment_id=segment_id
        )
        if found or existing_ids(conn, tenant_id, [member_id]):
            return found
        if after == 0 or not member_changes(conn, tenant_id, member_id, after_seq=0, limit=1):
            raise NotFound(str(member_id))
        return found


def recent_segment_changes(
    db: Database, tenant_id: int, segment_id: str, before: int | None, limit: int
) -> list[Change]:
    """A segment's changes newest first, before the seq ``before`` (None: the newest);
    NotFound: no such segment."""
    with db.read() as conn:
        _segment(get_segment(conn, tenant_id, segment_id), segment_id)
        return recent_changes(
            conn, tenant_id, before_seq=before, limit=limit, segment_id=segment_id
        )


def recent_member_changes(
    db: Database, tenant_id: int, member_id: int, before: int | None, limit: int
) -> list[Change]:
    """A member's changes in every segment newest first, before the seq ``before``;
    NotFound: the tenant has no such member (a deleted member's history is left to the API)."""
    with db.read() as conn:
        if not existing_ids(conn, tenant_id, [member_id]):
            raise NotFound(str(member_id))
        return recent_changes(conn, tenant_id, before_seq=before, limit=limit, member_id=member_id)


def was_member(db: Database, tenant_id: int, segment_id: str, member_id: int, at: int) -> bool:
    """Whether the segment held the member at ``at`` (epoch seconds): by its history, else
    (nothing changed since) by its membership now, and never before the segment existed.
    NotFound: no such segment, or neither such a member nor any history of one."""
    with db.snapshot() as conn:
        segment = _segment(get_segment(conn, tenant_id, segment_id), segment_id)
        by_history = member_state_at(conn, tenant_id, segment_id, member_id, at)
        if by_history is not None:
            return by_history
        if not existing_ids(conn, tenant_id, [member_id]):
            raise NotFound(str(member_id))
        if at < segment.created_at:
            return False
        return store().holds_member(conn, segment, member_id)


def sizes_by_day(
    db: Database, tenant_id: int, segment_id: str, first: date, last: date
) -> list[tuple[date, int | None]]:
    """(day, size at the end of it, UTC) for each day from ``first`` to ``last`` (at most
    today); None before anything is known of the segment's size. A day nothing changed
    keeps the size of the day before; today's is the segment's count now."""
    today = datetime.now(UTC).date()
    last = min(last, today)
    with db.snapshot() as conn:
        segment = _segment(get_segment(conn, tenant_id, segment_id), segment_id)
        known = dict(segment_sizes_between(conn, tenant_id, segment_id, first, last))
    size: int | None = None
    for day in sorted(d for d in known if d < first):
        size = known[day]
    days: list[tuple[date, int | None]] = []
    day = first
    while day <= last:
        size = known.get(day, size)
        days.append((day, segment.member_total if day == today else size))
        day += timedelta(days=1)
    return days
