"""Run a claimed build chunk by chunk, then publish it.

A chunk rewrites the members of one id range (cursor, hi] for the job's generation, then
moves the cursor: ``cursor`` always means "every member with id <= cursor is done for this
generation", which real-time updates rely on. Each chunk is one transaction and is safe to
repeat. The last step publishes the generation in the same transaction that checks the
lease, so readers switch from the previous complete membership to the new one at once, and a
job that was superseded (a newer enqueue) can never publish. Rows of other generations are
invisible to readers; they are deleted after the publish (``stale_generations``).

What touches the membership tables goes through ``membership.store()``.
"""

from __future__ import annotations

import logging
import time

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Row

from .. import metrics
from ..domain.statuses import JobState
from ..membership import FillRange, build_horizon, store
from ..settings import Settings
from ..storage.db import Database
from ..storage.schema import segments
from ..storage.segments import mark_exact, published_generations
from ..timefmt import now
from .build_plan import Plan, Ranges, next_ranges
from .build_queue import (
    BUILDS,
    Claim,
    enqueue_dependents,
    held,
    job_row,
    requeue_build,
    step_transaction,
)
from .build_steps import Step, lock_and_extend
from .stale_generations import drop_stale_quietly

log = logging.getLogger("segmentd.jobs")


def run_chunk(db: Database, settings: Settings, claim: Claim, plan: Plan) -> Step:
    """Build the next id range of members and save progress; publish when none are left.

    After publishing, the previous generation's rows are deleted before this returns.
    """
    return run_chunks(db, settings, [(claim, plan)])[0]


def run_chunks(db: Database, settings: Settings, work: list[tuple[Claim, Plan]]) -> list[Step]:
    """``run_chunk`` for several jobs in one transaction: jobs of one list at the same cursor
    share the look-up of the range (builds of many segments share one pass)."""
    steps = _run_chunks(db, settings, work)
    for (claim, _plan), step in zip(work, steps, strict=True):
        if step is Step.DONE:
            drop_stale_quietly(db, claim.tenant_id, claim.segment_id, settings.build_chunk_size)
    return steps


def _run_chunks(db: Database, settings: Settings, work: list[tuple[Claim, Plan]]) -> list[Step]:
    size = settings.build_chunk_size
    parts = settings.build_parallelism
    steps = [Step.LOST] * len(work)
    with step_transaction(db, [claim for claim, _plan in work], settings.lease_seconds) as conn:
        # Segment rows in ascending id, as real-time updates lock them: no deadlock.
        order = sorted(range(len(work)), key=lambda i: work[i][0].segment_id)
        live = [i for i in order if lock_and_extend(conn, work[i][0], settings.lease_seconds)]
        shared: dict[tuple[int, int, int], Ranges] = {}
        planned: dict[int, tuple[Row[tuple], Ranges]] = {}
        for i in live:
            claim, plan = work[i]
            job = job_row(conn, claim)
            key = (claim.tenant_id, plan.list_id, int(job.cursor))
            if key not in shared:
                shared[key] = next_ranges(conn, claim, plan, job.cursor, size, parts)
            planned[i] = (job, shared[key])
        # Removals take the segment row lock too, so no exclusion appears until this commits.
        excluding = {i: store().has_exclusions(conn, work[i][0]) for i in live}
        fills = [(*work[i], lo, hi, excluding[i]) for i in live for lo, hi, _count in planned[i][1]]
        ahead = _ahead(conn, work, live, planned, excluding, size, parts) if db.is_sqlite else []
        inside_counted = store().fill(db, conn, fills, settings.build_parallelism, ahead)
        published: list[float] = []
        for i in live:
            claim, plan = work[i]
            job, ranges = planned[i]
            steps[i] = _advance(conn, claim, plan, job, ranges, size * parts, inside_counted)
            if steps[i] is Step.DONE and job.started_at is not None:
                published.append(job.started_at)
    for started_at in published:  # committed: the builds are published
        metrics.observe_build(time.time() - started_at)
    return steps


def _ahead(
    conn: Connection,
    work: list[tuple[Claim, Plan]],
    live: list[int],
    planned: dict[int, tuple[Row[tuple], Ranges]],
    excluding: dict[int, bool],
    size: int,
    parts: int,
) -> list[FillRange]:
    """The ranges the next step of a lone job will fill, when this one fills a full step
    (so it publishes nothing): the store may evaluate them meanwhile."""
    if len(live) != 1 or parts == 1:
        return []
    claim, plan = work[live[0]]
    ranges = planned[live[0]][1]
    if sum(count for _lo, _hi, count in ranges) != size * parts:
        return []
    following = next_ranges(conn, claim, plan, ranges[-1][1], size, parts)
    return [(claim, plan, lo, hi, excluding[live[0]]) for lo, hi, _count in following]


def _advance(
    conn: Connection,
    claim: Claim,
    plan: Plan,
    job: Row[tuple],
    ranges: Ranges,
    full: int,
    inside_counted: bool,
) -> Step:
    """Count the filled ranges' buckets, move the cursor, and publish after the last range."""
    count = sum(part_count for _lo, _hi, part_count in ranges)
    cursor = int(job.cursor)
    if count:
        cursor = ranges[-1][1]
        store().count_filled(conn, claim, plan, ranges, inside_counted)
        processed = job.processed + count
        conn.execute(held(claim).values(cursor=cursor, processed=processed))
        _set_percent(conn, claim, _percent(processed, max(job.total, processed)))
    if count == full:
        return Step.PROGRESS
    # Fewer than full chunks: no member is left past the cursor as of this transaction.
    if not _publish(conn, claim, plan, build_horizon(plan.complement, cursor)):
        return Step.LOST
    return Step.DONE


def _percent(processed: int, total: int) -> int:
    # 100 means published, so a build in progress shows at most 99.
    return min(99, processed * 100 // total) if total else 0


def _set_percent(conn: Connection, claim: Claim, percent: int) -> None:
    conn.execute(
        sa.update(segments)
        .where(segments.c.tenant_id == claim.tenant_id, segments.c.id == claim.segment_id)
        .values(percent=percent)
    )


def _publish(conn: Connection, claim: Claim, plan: Plan, horizon: int) -> bool:
    """End the job and publish its generation, in the transaction that holds the lease, and
    queue the builds of the segments referring to it; False when the job was superseded in
    this very transaction (a reference built beside it published first: its rows read the
    reference's previous membership)."""
    if not BUILDS.finish(conn, claim.job_id, JobState.DONE, owner=claim.owner):
        return False
    total = store().publish(conn, claim, horizon)
    follow_publish(conn, claim, plan)
    log.info(
        "segment %s generation %s published with %s members (job %s)",
        claim.segment_id,
        claim.generation,
        total,
        claim.job_id,
    )
    return True


def follow_publish(conn: Connection, claim: Claim, plan: Plan) -> None:
    """What follows a build's new membership in its transaction: the segment marked exact,
    the segments referring to it queued, and itself again if a segment it refers to
    published since the job was planned (it may have been read at two generations)."""
    referenced = dict(plan.references)
    if referenced and published_generations(conn, claim.tenant_id, referenced) != referenced:
        requeue_build(conn, claim.tenant_id, claim.segment_id)
    enqueue_dependents(conn, claim.tenant_id, claim.segment_id)
    mark_exact(conn, claim.tenant_id, [claim.segment_id], plan.day, now())
