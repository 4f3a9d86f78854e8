"""A build's steps and what each left behind, the lease check that starts every step, and
``prepare``, the first step: parse the condition and plan the job, or fail it.

Each step is one write transaction that first locks the segment row, then renews the job's
lease (``lock_and_extend``): a step of a job that is no longer ours changes nothing.
"""

from __future__ import annotations

import logging
from enum import Enum

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Row

from ..domain.errors import DomainValidationError
from ..domain.segment_kinds import SegmentKind
from ..domain.statuses import JobState, SegmentStatus
from ..membership import store
from ..settings import Settings
from ..storage.db import Database
from ..storage.schema import segments
from ..timefmt import now
from .build_plan import Plan, plan_build
from .build_queue import BUILDS, MAX_ATTEMPTS, Claim, held, job_row, step_transaction
from .stale_generations import drop_stale_quietly

log = logging.getLogger("segmentd.jobs")


class Step(Enum):
    """What one step of a build left behind."""

    PROGRESS = "progress"  # a chunk was committed; more remain
    DONE = "done"  # the generation is published
    FAILED = "failed"  # the job and its segment failed; the old membership stays
    LOST = "lost"  # the lease is no longer ours (superseded, reclaimed or segment deleted)


def prepare(db: Database, settings: Settings, claim: Claim) -> Plan | Step:
    """Parse the segment's condition against today's catalog and count the work left."""
    plan = _prepare(db, settings, claim)
    if plan is Step.FAILED:
        drop_stale_quietly(db, claim.tenant_id, claim.segment_id, settings.build_chunk_size)
    return plan


def _prepare(db: Database, settings: Settings, claim: Claim) -> Plan | Step:
    with step_transaction(db, [claim], settings.lease_seconds) as conn:
        segment = lock_and_extend(conn, claim, settings.lease_seconds)
        if segment is None:
            return Step.LOST
        if segment.kind == SegmentKind.STATIC:
            # Its members are given: there is nothing to build, and nothing to change.
            BUILDS.finish(conn, claim.job_id, JobState.DONE, owner=claim.owner)
            return Step.DONE
        if BUILDS.exhausted(claim.attempt):
            last_error = job_row(conn, claim).error or "no error recorded"
            fail(conn, claim, f"build failed after {MAX_ATTEMPTS} attempts: {last_error}")
            return Step.FAILED
        try:
            plan, total = plan_build(conn, settings, claim, segment, job_row(conn, claim))
        except DomainValidationError as exc:
            fail(conn, claim, f"the condition no longer validates: {exc}")
            return Step.FAILED
        conn.execute(held(claim).values(total=total, complement=plan.complement, day=plan.day))
    return plan


def lock_and_extend(conn: Connection, claim: Claim, lease_seconds: float) -> Row[tuple] | None:
    """Lock the segment row, then renew the lease. None when the job is no longer ours."""
    segment = conn.execute(
        sa.select(segments)
        .where(segments.c.tenant_id == claim.tenant_id, segments.c.id == claim.segment_id)
        .with_for_update()
    ).first()
    if not BUILDS.renew(conn, claim.job_id, claim.owner, lease_seconds):
        return None
    if segment is None:
        _retire_deleted(conn, claim)
        return None
    return segment


def fail(conn: Connection, claim: Claim, error: str) -> None:
    """Fail the job and mark the segment failed; its published membership stays readable."""
    BUILDS.finish(conn, claim.job_id, JobState.FAILED, owner=claim.owner, error=error)
    conn.execute(
        sa.update(segments)
        .where(segments.c.tenant_id == claim.tenant_id, segments.c.id == claim.segment_id)
        .values(status=SegmentStatus.FAILED, error=error, updated_at=now())
    )
    log.warning("build job %s of segment %s failed: %s", claim.job_id, claim.segment_id, error)


def _retire_deleted(conn: Connection, claim: Claim) -> None:
    """The segment is gone: the job can never publish, and its rows must not linger."""
    error = "segment deleted"
    BUILDS.finish(conn, claim.job_id, JobState.SUPERSEDED, owner=claim.owner, error=error)
    store().discard(conn, claim)
