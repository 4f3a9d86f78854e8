"""Run a claimed daily refresh: one pass over a list's members for all its due segments.

The first step fixes the job's day (today in the tenant's zone) and its segments (the list's
due ones, each with the published generation it refreshes), while nothing is done yet. Each
later step is one write transaction: it locks the segments' rows (ascending id, as builds and
real-time updates do), renews the lease, refreshes the next chunk of members in place for
every segment at once (``MembershipStore.refresh``) and moves the cursor; the last one marks
the segments exact for the day (``segments.exact_at``, ``exact_day``) and ends the job. A
step run twice changes nothing more, so a job whose worker died resumes from its cursor.

Readers see each chunk's members move at its commit, with exact counts throughout: while the
pass runs, members past its cursor still answer for the previous day. A segment that a build
republished meanwhile is left to that build, whose publish made it exact for the build's own
day; if that day is older, the next check queues another refresh.

With the analytics back-end set, each attempt brings the copy up to date once, and each
chunk's members are selected on ClickHouse for all the job's segments in one query
(``analytics_refresh``); the chunk's transaction publishes them the same way.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable, Collection
from dataclasses import dataclass
from datetime import date
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Row

from .. import clock, metrics
from ..domain.conditions import Condition
from ..domain.errors import DomainValidationError
from ..domain.fields import Catalog
from ..domain.segment_graph import referrers
from ..domain.statuses import JobState, SegmentStatus
from ..domain.stored_form import load_condition
from ..membership import store
from ..settings import Settings
from ..storage.catalog import load_catalog
from ..storage.db import Database
from ..storage.schema import refresh_jobs, segments
from ..storage.segments import mark_exact, pass_day
from ..timefmt import now
from .analytics_refresh import RefreshOnCopy, on_copy, referenced
from .analytics_source import analytics_source
from .build_plan import range_after
from .build_steps import Step
from .queue import new_worker_id
from .refresh_queue import (
    REFRESHES,
    RefreshClaim,
    abandon,
    claim_refresh,
    due_segments,
    enqueue_due,
    release,
)

log = logging.getLogger("segmentd.jobs")


@dataclass(frozen=True)
class Target:
    """One segment's published generation and its condition read for the job's day."""

    tenant_id: int
    segment_id: str
    segment_number: int
    generation: int
    condition: Condition


class Conditions:
    """The conditions a job read, by segment, text and catalog: parsed once per run."""

    def __init__(self) -> None:
        self._parsed: dict[tuple[str, str, int], tuple[Catalog, Condition | None]] = {}

    def get(
        self, conn: Connection, row: Row[Any], day: date, settings: Settings
    ) -> Condition | None:
        catalog = load_catalog(conn, row.tenant_id)
        key = (row.id, row.condition, id(catalog))
        # The entry holds its catalog, so an id is never reused while it is here.
        if key not in self._parsed or self._parsed[key][0] is not catalog:
            self._parsed[key] = (catalog, _load(row, catalog, day, settings))
        return self._parsed[key][1]


def _load(row: Row[Any], catalog: Catalog, day: date, settings: Settings) -> Condition | None:
    try:
        return load_condition(row.condition, catalog, settings.tz, today=day)
    except DomainValidationError as exc:
        log.warning("segment %s: not refreshed, its condition no longer loads (%s)", row.id, exc)
        return None


def run_refresh(
    db: Database, settings: Settings, claim: RefreshClaim, should_yield: Callable[[], bool]
) -> Step | None:
    """Run a claimed refresh to its end; None when handed back (``should_yield``) or when it
    hit an error (the job is abandoned for another attempt)."""
    try:
        step = prepare(db, settings, claim)
        conditions = Conditions()
        copy = on_analytics_copy(db, settings, claim) if step is Step.PROGRESS else None
        while step is Step.PROGRESS:
            if should_yield():
                release(db, claim)
                return None
            step = run_chunk(db, settings, claim, conditions, copy)
    except Exception as exc:
        log.exception("refresh job %s hit an error on attempt %s", claim.job_id, claim.attempt)
        _abandon_quietly(db, claim, f"{type(exc).__name__}: {exc}")
        return None
    log.info("refresh job %s of list %s ended %s", claim.job_id, claim.list_id, step.value)
    return step


def refresh_pending(db: Database, settings: Settings) -> int:
    """Queue what is due today and run every claimable refresh to its end in this thread;
    how many ended (done or failed)."""
    enqueue_due(db, clock.today(settings.tz))
    owner = new_worker_id()
    ended = 0
    while (claim := claim_refresh(db, owner, settings.lease_seconds)) is not None:
        step = run_refresh(db, settings, claim, lambda: False)
        ended += step in (Step.DONE, Step.FAILED)
    return ended


def prepare(db: Database, settings: Settings, claim: RefreshClaim) -> Step:
    """Fix the job's day and segments while nothing is done (cursor 0); fail a job that
    keeps crashing its workers. PROGRESS: run the chunks."""
    with REFRESHES.step(db, [claim.job_id], claim.owner, settings.lease_seconds) as conn:
        if not REFRESHES.renew(conn, claim.job_id, claim.owner, settings.lease_seconds):
            return Step.LOST
        job = _job(conn, claim)
        held = REFRESHES.held(claim.job_id, claim.owner)
        if REFRESHES.exhausted(claim.attempt):
            # Dated, so that the list waits for the next day (``refresh_queue``).
            conn.execute(held.values(day=job.day or clock.today(settings.tz)))
            error = f"refresh failed after {REFRESHES.max_attempts} attempts: {job.error}"
            REFRESHES.finish(conn, claim.job_id, JobState.FAILED, owner=claim.owner, error=error)
            log.warning("refresh job %s failed: %s", claim.job_id, error)
            return Step.FAILED
        if job.cursor == 0:
            day = clock.today(settings.tz)
            planned = _due(conn, claim, day)
            conn.execute(held.values(day=day, segments=json.dumps(planned, sort_keys=True)))
            if not planned:
                REFRESHES.finish(conn, claim.job_id, JobState.DONE, owner=claim.owner)
                return Step.DONE
    return Step.PROGRESS


def _due(conn: Connection, claim: RefreshClaim, day: date) -> dict[str, int]:
    """{segment id: published generation} of the list's segments due on ``day``."""
    s = segments.c
    rows = conn.execute(
        sa.select(s.id, s.generation).where(
            s.tenant_id == claim.tenant_id, s.list_id == claim.list_id, *due_segments(day)
        )
    )
    return {row.id: int(row.generation) for row in rows}


def on_analytics_copy(
    db: Database, settings: Settings, claim: RefreshClaim
) -> RefreshOnCopy | None:
    """With the analytics back-end set, the attempt's questions to its copy, brought up to
    date now (after ``prepare``: the job's day and segments are fixed); None without it.
    Raises what ClickHouse raises: the attempt is abandoned and retried."""
    source = analytics_source(settings.analytics)
    if source is None:
        return None
    return on_copy(source, db, claim.tenant_id, claim.list_id, _referenced(db, settings, claim))


def _referenced(db: Database, settings: Settings, claim: RefreshClaim) -> set[str]:
    """The segments the conditions of the job's segments refer to, read for its day."""
    with db.read() as conn:
        job = _job(conn, claim)
        planned: dict[str, int] = json.loads(job.segments or "{}")
        s = segments.c
        rows: list[Row[Any]] = list(
            conn.execute(
                sa.select(s.id, s.tenant_id, s.condition).where(
                    s.tenant_id == claim.tenant_id, s.id.in_(sorted(planned))
                )
            )
        )
        parsed = [
            _load(row, load_catalog(conn, claim.tenant_id), job.day, settings) for row in rows
        ]
    return referenced(c for c in parsed if c is not None)


def run_chunk(
    db: Database,
    settings: Settings,
    claim: RefreshClaim,
    conditions: Conditions,
    copy: RefreshOnCopy | None = None,
) -> Step:
    """Refresh the next chunk of members for every segment of the job; finish after the last.
    With ``copy``, the members are selected on the analytics copy."""
    step, started_at = _run_chunk(db, settings, claim, conditions, copy)
    if step is Step.DONE and started_at is not None:  # committed
        metrics.observe_refresh(time.time() - started_at)
    return step


def _run_chunk(
    db: Database,
    settings: Settings,
    claim: RefreshClaim,
    conditions: Conditions,
    copy: RefreshOnCopy | None,
) -> tuple[Step, float | None]:
    with REFRESHES.step(db, [claim.job_id], claim.owner, settings.lease_seconds) as conn:
        job = _job(conn, claim)
        planned: dict[str, int] = json.loads(job.segments or "{}")
        rows = _lock_segments(conn, claim, planned)
        if not REFRESHES.renew(conn, claim.job_id, claim.owner, settings.lease_seconds):
            return Step.LOST, None
        job = _job(conn, claim)  # as it is now that the lease is ours
        day: date = job.day
        kept = [row for row in rows if _still_planned(row, planned)]
        parsed = [(row, conditions.get(conn, row, day, settings)) for row in kept]
        targets = [
            Target(claim.tenant_id, row.id, row.number, row.generation, condition)
            for row, condition in parsed
            if condition is not None
        ]
        size = settings.build_chunk_size
        hi, count = range_after(conn, claim.tenant_id, claim.list_id, job.cursor, size)
        changed = 0
        if count and targets:
            ids = (int(job.cursor), hi)
            answers = None if copy is None else copy.answers(conn, targets, *ids)
            changed = store().refresh(
                conn, claim.tenant_id, claim.list_id, ids, targets, settings.tz, answers
            )
        conn.execute(
            REFRESHES.held(claim.job_id, claim.owner).values(
                cursor=hi, processed=job.processed + count, changed=job.changed + changed
            )
        )
        if count == size:
            return Step.PROGRESS, None
        # Fewer than a chunk: no member is left past the cursor as of this transaction.
        exact = [target.segment_id for target in targets]
        mark_exact(conn, claim.tenant_id, exact, day, now())
        pass_day(conn, claim.tenant_id, [r.id for r, c in parsed if c is None], day)
        REFRESHES.finish(conn, claim.job_id, JobState.DONE, owner=claim.owner)
        log.info(
            "list %s refreshed to %s: %s segments, %s members, %s memberships changed",
            claim.list_id,
            day,
            len(exact),
            job.processed + count,
            job.changed + changed,
        )
        return Step.DONE, job.started_at


def _job(conn: Connection, claim: RefreshClaim) -> Row[Any]:
    return conn.execute(sa.select(refresh_jobs).where(refresh_jobs.c.id == claim.job_id)).one()


def _lock_segments(
    conn: Connection, claim: RefreshClaim, planned: dict[str, int]
) -> list[Row[Any]]:
    """The job's segments that still exist, locked in ascending id as builds and real-time
    updates lock them (no deadlock): they wait for this chunk, and it for them. The segments
    referring to them, directly or through others, are locked in the same statement: the
    chunk brings them up to date for the members it moves (``MembershipStore.refresh``),
    and locking them only then would take a lower id after a higher one."""
    if not planned:
        return []
    s = segments.c
    locked = sorted(set(planned) | _referring(conn, claim.tenant_id, planned))
    rows: list[Row[Any]] = list(
        conn.execute(
            sa.select(s.id, s.tenant_id, s.number, s.generation, s.status, s.condition)
            .where(s.tenant_id == claim.tenant_id, s.id.in_(locked))
            .order_by(s.id)
            .with_for_update()
        )
    )
    return [row for row in rows if row.id in planned]


def _referring(conn: Connection, tenant_id: int, segment_ids: Collection[str]) -> set[str]:
    """The segments whose conditions refer to ``segment_ids``, directly or through others."""
    graph = load_catalog(conn, tenant_id).segments
    found: set[str] = set()
    todo = list(segment_ids)
    while todo:
        for referrer in referrers(graph, todo.pop()):
            if referrer not in found:
                found.add(referrer)
                todo.append(referrer)
    return found


def _still_planned(row: Row[Any], planned: dict[str, int]) -> bool:
    """Its published generation is the one planned (not republished by a build since), and
    it did not fail since (real-time updates leave a failed segment alone, as this does)."""
    return bool(row.generation == planned[row.id] and row.status != SegmentStatus.FAILED)


def _abandon_quietly(db: Database, claim: RefreshClaim, error: str) -> None:
    # If even this fails (database gone), the lease simply expires and the job is reclaimed.
    try:
        abandon(db, claim, error[:2000])
    except Exception:
        log.exception("could not record the error of refresh job %s", claim.job_id)
