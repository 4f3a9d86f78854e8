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

The transaction, the limit and what follows are ``in_place_rebuild``'s. A ClickHouse error
(a shard down) rolls the transaction back: nothing is written, the job
is retried, and the published membership stays.
"""

from __future__ import annotations

import logging

from sqlalchemy.engine import Connection

from ..analytics.engine import engine_failures
from ..analytics.read_point import ReadPoint, SegmentCopy
from ..domain.condition_types.leaf_types import inputs
from ..membership import Rebuilt, store
from ..settings import Settings
from ..storage import analytics_outbox as outbox
from ..storage.db import Database
from ..storage.segments import Segment
from .analytics_refresh import moved_since_copy
from .analytics_source import AnalyticsSource, Difference
from .build_plan import Plan
from .build_queue import Claim
from .build_steps import Step
from .in_place_rebuild import PublishedKey, TooLarge, apply_in_place

log = logging.getLogger("segmentd.jobs")

_EVERYONE = (0, 2**62)  # the member id range of a whole list


def rebuild_on_copy(
    source: AnalyticsSource, db: Database, settings: Settings, claim: Claim, plan: Plan
) -> Step | None:
    """Sync the copy (this segment's membership included), then apply the difference to the
    published generation and end the job, in one transaction. None when the difference was
    too large for that (``rebuild_in_place_limit``): nothing written, the caller builds by
    range."""
    refers = frozenset({claim.segment_id, *inputs(plan.condition).segments})
    fresh = source.sync(db, claim.tenant_id, refers).fresh_as_of
    found: list[Difference] = []

    def difference(conn: Connection, key: PublishedKey, horizon: int) -> Rebuilt:
        unsure: set[int] = set()

        def read_unsure(point: ReadPoint) -> None:
            unsure.update(_unsure(conn, key, refers, point))

        answer = source.difference(
            claim.tenant_id, plan.list_id, plan.condition, claim.segment_id, read_unsure
        )
        found.append(answer)
        if len(answer.entered) + len(answer.left) > settings.rebuild_in_place_limit:
            raise TooLarge
        named = (answer.entered, answer.left, frozenset(unsure))
        rebuilt = store().apply_difference(conn, key, plan.list_id, horizon, plan.condition, named)
        log.info(
            "build job %s: %s entered, %s left by the copy, %s answered here",
            claim.job_id,
            len(answer.entered),
            len(answer.left),
            len(unsure),
        )
        return rebuilt

    try:
        applied = apply_in_place(
            db, settings, claim, plan, difference, {"analytics_fresh_as_of": fresh}
        )
    except TooLarge:
        log.info("build job %s: the difference is too large to apply in place", claim.job_id)
        return None
    if applied is None:
        return Step.LOST
    if applied.segment is not None:
        point = found[-1].point
        copy = point.copies[claim.segment_id]
        _advance_quietly(source, applied.segment, copy, applied.history_seq, applied.rebuilt)
    log.info(
        "build job %s: segment %s rebuilt in place on the analytics copy (fresh as of %s): "
        "%s moved",
        claim.job_id,
        claim.segment_id,
        fresh,
        applied.rebuilt.moved,
    )
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
