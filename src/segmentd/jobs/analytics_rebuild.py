"""A rebuild on the analytics back-end, applied in place: a segment that has a published
membership is rebuilt by asking ClickHouse once which members' answers differ from its
copied membership (``AnalyticsSource.difference``), then writing only who entered and left
into the published generation (``MembershipStore.apply_difference``), in one transaction
that also ends the job. Readers see the whole rebuild move at its commit, as at a publish.

The copy can be older than the system of record for a few members, as for the daily
refresh on the copy (``analytics_refresh``): those with outbox rows still waiting, and those
whose membership of this segment, or of a segment the condition refers to, changed since
that segment's copy. They are read in the transaction before the query, while it holds the
segment's lock, and answered by the system of record; every other member cannot change
until the commit, and the copy holds it as the system of record does.

A ClickHouse error (a shard down) rolls the transaction back: nothing is written, the job
is retried, and the published membership stays.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from .. import metrics
from ..analytics.engine import engine_failures
from ..analytics.read_point import ReadPoint, SegmentCopy
from ..domain.condition_types.leaf_types import inputs
from ..domain.statuses import JobState, SegmentStatus
from ..membership import Rebuilt, store
from ..settings import Settings
from ..storage import analytics_outbox as outbox
from ..storage import change_log
from ..storage.change_log import last_change
from ..storage.db import Database
from ..storage.schema import segments
from ..storage.segments import Segment, get_segment
from ..timefmt import now
from .analytics_refresh import moved_since_copy
from .analytics_source import AnalyticsSource
from .build_plan import Plan
from .build_queue import BUILDS, Claim, held, job_row
from .build_runner import follow_publish
from .build_steps import Step, lock_and_extend

log = logging.getLogger("segmentd.jobs")

_EVERYONE = (0, 2**62)  # the member id range of a whole list
# A difference naming more members than this is not applied in one transaction (every row
# sent at once, Python holding every id): the job builds a new generation range by range.
IN_PLACE_LIMIT = 100_000


class _TooLarge(Exception):
    """The difference names more than ``IN_PLACE_LIMIT`` members: nothing was written."""


@dataclass(frozen=True)
class PublishedKey:
    """The segment's published generation (``GenerationKey``)."""

    tenant_id: int
    segment_id: str
    segment_number: int
    generation: int


def rebuilds_in_place(db: Database, claim: Claim) -> bool:
    """Whether the job can rebuild in place: its segment has a published generation, and
    the job has written no range of its own yet."""
    with db.read() as conn:
        s = segments.c
        generation = conn.execute(
            sa.select(s.generation).where(s.tenant_id == claim.tenant_id, s.id == claim.segment_id)
        ).scalar()
        return bool(generation) and int(job_row(conn, claim).cursor) == 0


def rebuild_on_copy(
    source: AnalyticsSource, db: Database, settings: Settings, claim: Claim, plan: Plan
) -> Step | None:
    """Sync the copy (this segment's membership included), then apply the difference to the
    published generation and end the job, in one transaction. None when the difference was
    too large for that (``IN_PLACE_LIMIT``): nothing written, the caller builds by range."""
    refers = frozenset({claim.segment_id, *inputs(plan.condition).segments})
    fresh = source.sync(db, claim.tenant_id, refers).fresh_as_of
    try:
        return _rebuild(source, db, settings, claim, plan, (refers, fresh))
    except _TooLarge:
        log.info("build job %s: the difference is too large to apply in place", claim.job_id)
        return None


def _rebuild(
    source: AnalyticsSource,
    db: Database,
    settings: Settings,
    claim: Claim,
    plan: Plan,
    synced: tuple[frozenset[str], int],
) -> Step:
    refers, fresh = synced
    with db.write() as conn:
        segment = lock_and_extend(conn, claim, settings.lease_seconds)
        if segment is None or not _end_job(conn, claim, fresh):
            return Step.LOST
        key = PublishedKey(
            claim.tenant_id, claim.segment_id, claim.segment_number, int(segment.generation)
        )
        unsure: set[int] = set()

        def read_unsure(point: ReadPoint) -> None:
            unsure.update(_unsure(conn, key, refers, point))

        found = source.difference(
            claim.tenant_id, plan.list_id, plan.condition, claim.segment_id, read_unsure
        )
        if len(found.entered) + len(found.left) > IN_PLACE_LIMIT:
            raise _TooLarge  # rolls the transaction back: nothing written
        named = (found.entered, found.left, frozenset(unsure))
        rebuilt = store().apply_difference(
            conn, key, plan.list_id, int(segment.horizon), plan.condition, named
        )
        _mark_complete(conn, claim, plan)
        started_at = job_row(conn, claim).started_at
        published = get_segment(conn, claim.tenant_id, claim.segment_id)
        # The history numbered now (the last step, as at the commit): the seq the copy holds.
        change_log.flush(conn)
        history_seq = last_change(conn, claim.tenant_id, claim.segment_number)
    if published is not None:
        _advance_quietly(
            source, published, found.point.copies[claim.segment_id], history_seq, rebuilt
        )
    log.info(
        "build job %s: segment %s rebuilt in place on the analytics copy (fresh as of %s): "
        "%s entered, %s left by the copy, %s answered here, %s moved",
        claim.job_id,
        claim.segment_id,
        fresh,
        len(found.entered),
        len(found.left),
        len(unsure),
        rebuilt.moved,
    )
    if started_at is not None:
        metrics.observe_build(time.time() - started_at)
    return Step.DONE


def _advance_quietly(
    source: AnalyticsSource, segment: Segment, read: SegmentCopy, history_seq: int, rebuilt: Rebuilt
) -> None:
    """The segment's copy brought to its rebuilt membership; on a ClickHouse error only
    logged (the rebuild is committed; the next sync copies the membership whole)."""
    try:
        source.advance(segment, read, history_seq, rebuilt)
    except engine_failures() as exc:
        log.warning(
            "segment %s: its analytics copy is left to the next sync", segment.id, exc_info=exc
        )


def _unsure(
    conn: Connection, key: PublishedKey, refers: frozenset[str], point: ReadPoint
) -> set[int]:
    """The members the copy read at ``point`` may hold older than ``conn`` sees them: with
    outbox rows waiting, or moved in one of ``refers`` since its copy. The segment's own copy
    must be of its published generation (the sync made it so; else the attempt is retried)."""
    own = point.copies.get(key.segment_id)
    if own is None or own.generation != key.generation:
        raise RuntimeError(
            f"the analytics copy of segment {key.segment_id} is not of its published "
            f"generation {key.generation}"
        )
    found = outbox.members_waiting(conn, key.tenant_id, *_EVERYONE)
    for segment_id in sorted(refers):
        found |= moved_since_copy(conn, key.tenant_id, segment_id, point, *_EVERYONE)
    return found


def _end_job(conn: Connection, claim: Claim, fresh: int) -> bool:
    """End the job, recording how fresh the copy was, before anything is written (the
    transaction commits both or neither); False when the job is no longer ours."""
    conn.execute(held(claim).values(analytics_fresh_as_of=fresh))
    return BUILDS.finish(conn, claim.job_id, JobState.DONE, owner=claim.owner)


def _mark_complete(conn: Connection, claim: Claim, plan: Plan) -> None:
    """Mark the segment complete and exact, and queue the builds that follow, as a publish
    does (the generation stays)."""
    conn.execute(
        sa.update(segments)
        .where(segments.c.tenant_id == claim.tenant_id, segments.c.id == claim.segment_id)
        .values(
            status=SegmentStatus.COMPLETE,
            percent=100,
            error=None,
            built_at=now(),
            updated_at=now(),
        )
    )
    follow_publish(conn, claim, plan)
