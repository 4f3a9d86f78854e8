"""Build jobs on the lease queue: enqueue a build (superseding older ones), claim, hand back.

A build is a ``build_jobs`` row (``jobs.queue`` has the lease contract); its ``cursor``,
``processed``, ``total`` and ``complement`` are the build's own progress (``build_runner``).
Lock order on PostgreSQL is segment row, then job row, everywhere (enqueue, chunks, publish),
so builds never deadlock with segment updates. Claiming locks only the job row.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass
from datetime import UTC, date
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Row

from ..domain.condition_types.leaf_types import moves_with_time
from ..domain.errors import DomainValidationError
from ..domain.fields import Catalog
from ..domain.segment_graph import referrers
from ..domain.segment_kinds import SegmentKind
from ..domain.statuses import JobState, SegmentStatus
from ..domain.stored_form import load_condition
from ..storage import wakeups
from ..storage.catalog import catalog_changed, load_catalog
from ..storage.db import Database
from ..storage.schema import build_jobs, segments
from ..storage.segments import set_time_dependent
from ..storage.write_lock import lock_tenant_writes
from ..timefmt import now
from .queue import Leased, LeaseQueue, lease_for
from .stale_generations import sweep_due, sweep_stale_generations

# A job claimed this many times without finishing fails rather than looping forever.
MAX_ATTEMPTS = 5
BUILDS = LeaseQueue(build_jobs, MAX_ATTEMPTS)
WAKE_UP = "builds"  # the wake-up a queued build sends after its commit (``storage.wakeups``)
EPOCH_DAY = date(1970, 1, 1)


@dataclass(frozen=True)
class Claim:
    """A job this worker holds the lease on."""

    job_id: int
    tenant_id: int
    segment_id: str
    segment_number: int  # the segment's key in the membership tables
    generation: int
    owner: str
    attempt: int


def enqueue_build(conn: Connection, tenant_id: int, segment_id: str) -> None:
    """Queue a fresh build of a segment, superseding any build of it still queued or running.

    Call inside the write transaction that created the segment or changed its condition. A
    static segment's members are given: it has nothing to build, and is left as it is.
    """
    enqueue_builds(conn, tenant_id, [segment_id])


def enqueue_builds(conn: Connection, tenant_id: int, segment_ids: Sequence[str]) -> None:
    """``enqueue_build`` for several segments of a tenant, in a fixed number of statements
    however many segments (an import rebuilds every segment of its list)."""
    if not segment_ids:
        return
    lock_tenant_writes(conn, tenant_id)
    found = _segment_rows(conn, tenant_id, segment_ids)
    missing = sorted(set(segment_ids) - found.keys())
    if missing:
        raise LookupError(f"segment {missing[0]} of tenant {tenant_id} does not exist")
    catalog = load_catalog(conn, tenant_id)
    moving = {sid for sid, row in found.items() if _moves_with_time(row.condition, catalog)}
    for moves, ids in ((True, moving), (False, found.keys() - moving)):
        set_time_dependent(conn, tenant_id, sorted(ids), moves)
    catalog_changed(conn, tenant_id)  # real-time updates see the segments building afresh
    dynamic = sorted(sid for sid, row in found.items() if row.kind == SegmentKind.DYNAMIC)
    if dynamic:  # a static segment's members are given: nothing to build
        s = segments.c
        conn.execute(
            sa.update(segments)
            .where(s.tenant_id == tenant_id, s.id.in_(dynamic))
            .values(status=SegmentStatus.BUILDING, percent=0, error=None, updated_at=now())
        )
        _queue_jobs(conn, tenant_id, dynamic)


def _segment_rows(conn: Connection, tenant_id: int, segment_ids: Sequence[str]) -> dict[str, Row]:
    """The segments' rows, locked in ascending id on PostgreSQL (as every writer of them)."""
    s = segments.c
    query = (
        sa.select(s.id, s.kind, s.condition)
        .where(s.tenant_id == tenant_id, s.id.in_(sorted(set(segment_ids))))
        .order_by(s.id)
        .with_for_update()
    )
    return {row.id: row for row in conn.execute(query)}


def enqueue_dependents(conn: Connection, tenant_id: int, segment_id: str) -> list[str]:
    """Queue a build of every segment whose condition refers to ``segment_id``, which has
    just published a new membership; return their ids. Their own publishes queue theirs
    in turn, so a chain is rebuilt in order.

    Runs in the publishing transaction, which holds segment rows: it takes neither the
    tenant's write lock nor the dependents' rows (real-time updates take those in the other
    order), only their job rows. A dependent keeps its status meanwhile: its membership
    stays readable and current with member changes, and its build swaps in the refresh.
    """
    graph = load_catalog(conn, tenant_id).segments
    found = sorted(referrers(graph, segment_id))
    if found:
        _queue_jobs(conn, tenant_id, found)
    return found


def requeue_build(conn: Connection, tenant_id: int, segment_id: str) -> None:
    """Queue another build of a segment from its publishing transaction (as
    ``enqueue_dependents`` does for its dependents)."""
    _queue_jobs(conn, tenant_id, [segment_id])


def _queue_jobs(conn: Connection, tenant_id: int, segment_ids: Sequence[str]) -> None:
    """Supersede the segments' builds still queued or running, and queue a fresh one each."""
    jobs = build_jobs.c
    # Job rows locked in one order by every writer of several (PostgreSQL): no deadlock.
    superseded = (
        sa.select(jobs.id)
        .where(
            jobs.tenant_id == tenant_id,
            jobs.segment_id.in_(segment_ids),
            jobs.state.in_([JobState.QUEUED, JobState.RUNNING]),
        )
        .order_by(jobs.segment_id, jobs.id)
        .with_for_update()
    )
    conn.execute(
        sa.update(build_jobs)
        .where(jobs.id.in_(superseded.scalar_subquery()))
        .values(state=JobState.SUPERSEDED, lease_expires_at=None, updated_at=now())
    )
    at = now()
    fresh = [
        {
            "tenant_id": tenant_id,
            "segment_id": segment_id,
            "generation": generation,
            "state": JobState.QUEUED,
            "created_at": at,
            "updated_at": at,
        }
        for segment_id, generation in _next_generations(conn, tenant_id, segment_ids).items()
    ]
    conn.execute(sa.insert(build_jobs), fresh)
    wakeups.after_commit(conn, WAKE_UP)


def _moves_with_time(stored: Any, catalog: Catalog) -> bool:
    """Whether the condition moves with time (the daily refresh takes such segments). A
    condition that no longer loads is not refreshed: its build fails."""
    try:
        # Whether a leaf moves does not depend on the day or zone it is read in.
        condition = load_condition(stored, catalog, UTC, today=EPOCH_DAY)
    except DomainValidationError:
        return False
    return moves_with_time(condition)


def _next_generations(
    conn: Connection, tenant_id: int, segment_ids: Sequence[str]
) -> dict[str, int]:
    """For each segment, one above every generation it ever published or any job of it
    ever used."""
    s, jobs = segments.c, build_jobs.c
    used = (
        sa.select(sa.func.max(jobs.generation))
        .where(jobs.tenant_id == s.tenant_id, jobs.segment_id == s.id)
        .scalar_subquery()
    )
    query = sa.select(s.id, s.generation, used.label("used")).where(
        s.tenant_id == tenant_id, s.id.in_(segment_ids)
    )
    return {
        row.id: max(int(row.generation), int(row.used or 0)) + 1
        for row in conn.execute(query.order_by(s.id))
    }


def claim_job(db: Database, owner: str, lease_seconds: float) -> Claim | None:
    """Take the oldest queued job, or a running one whose worker's lease ran out.

    With nothing to claim the worker is idle: it then finishes any cleanup of stale
    generations that a crash cut short (at most every ``SWEEP_SECONDS`` per database).
    """
    claims = claim_jobs(db, owner, lease_seconds, 1)
    return claims[0] if claims else None


def claim_jobs(db: Database, owner: str, lease_seconds: float, limit: int) -> list[Claim]:
    """``claim_job``, and with a fresh job up to ``limit - 1`` more fresh queued jobs of the
    same list, so that one pass over its members builds them all (``build_runner``)."""
    asked = time.monotonic()
    with db.write() as conn:
        lease_end = time.time() + lease_for(lease_seconds, time.monotonic() - asked)
        leased = BUILDS.claim_next(conn, owner, lease_end, columns=(_segment_number(),))
        if leased is not None:
            claim = _claim(leased, owner)
            fresh = _companions(conn, claim, limit - 1, lease_end) if leased.row.cursor == 0 else []
            return [claim, *fresh]
    if sweep_due(db):
        sweep_stale_generations(db)
    return []


def builds_waiting(db: Database) -> bool:
    """Whether a build is waiting to be claimed (a daily refresh then hands its job back)."""
    with db.read() as conn:
        query = sa.select(build_jobs.c.id).where(BUILDS.claimable(time.time())).limit(1)
        return conn.execute(query).first() is not None


def _companions(conn: Connection, first: Claim, limit: int, lease_end: float) -> list[Claim]:
    """Up to ``limit`` fresh queued jobs (cursor 0) of the list of ``first``'s segment."""
    if limit <= 0:
        return []
    jobs, s = build_jobs.c, segments.c
    same_list = (
        sa.select(s.list_id)
        .where(s.tenant_id == first.tenant_id, s.id == first.segment_id)
        .scalar_subquery()
    )
    query = (
        sa.select(build_jobs, s.number.label("segment_number"))
        .join_from(
            build_jobs, segments, sa.and_(s.tenant_id == jobs.tenant_id, s.id == jobs.segment_id)
        )
        .where(
            jobs.state == JobState.QUEUED,
            jobs.tenant_id == first.tenant_id,
            jobs.cursor == 0,
            s.list_id == same_list,
            jobs.id != first.job_id,
        )
        .order_by(jobs.id)
        .limit(limit)
    )
    return [
        _claim(leased, first.owner)
        for leased in BUILDS.claim_rows(conn, query, first.owner, lease_end)
    ]


def _segment_number() -> sa.Label[Any]:
    """The number of the job's segment; NULL (0 in the claim) once the segment is deleted."""
    s = segments.c
    number = sa.select(s.number).where(
        s.tenant_id == build_jobs.c.tenant_id, s.id == build_jobs.c.segment_id
    )
    return number.scalar_subquery().label("segment_number")


def _claim(leased: Leased, owner: str) -> Claim:
    row = leased.row
    number = int(row.segment_number or 0)
    return Claim(
        row.id, row.tenant_id, row.segment_id, number, row.generation, owner, leased.attempt
    )


def job_row(conn: Connection, claim: Claim) -> Row[tuple]:
    return conn.execute(sa.select(build_jobs).where(build_jobs.c.id == claim.job_id)).one()


def step_transaction(
    db: Database, claims: Sequence[Claim], lease_seconds: float
) -> AbstractContextManager[Connection]:
    """A build step's write transaction for claims of one worker: it ends by renewing their
    leases from its own time (``LeaseQueue.step``)."""
    (owner,) = {claim.owner for claim in claims}
    return BUILDS.step(db, [claim.job_id for claim in claims], owner, lease_seconds)


def held(claim: Claim) -> sa.Update:
    """An UPDATE of the claimed job that matches only while this worker holds it."""
    return BUILDS.held(claim.job_id, claim.owner)


def release(db: Database, claim: Claim) -> None:
    """Hand a job back untouched by this attempt (graceful stop): it resumes from its cursor."""
    with db.write() as conn:
        BUILDS.release(conn, claim.job_id, claim.owner)


def abandon(db: Database, claim: Claim, error: str) -> None:
    """Give up this attempt after an unexpected error: any worker may retry at once."""
    with db.write() as conn:
        BUILDS.abandon(conn, claim.job_id, claim.owner, error)
