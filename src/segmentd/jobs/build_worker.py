"""The build worker: claims build jobs and runs them, in a thread of the server or on its own;
when no build waits, it runs the daily refreshes of time-dependent segments.

Several workers, in one process or many, may share a database: claims are leased, and a
worker that dies mid-build leaves a job another worker reclaims once the lease expires.
"""

from __future__ import annotations

import logging
import signal
import time
from collections.abc import Callable
from datetime import date
from functools import partial
from types import FrameType
from typing import TypeVar

from .. import clock, log_setup
from ..settings import Settings
from ..storage.db import Database
from ..storage.faults import DatabaseUnavailable
from ..storage.secret_check import verify_secret
from .analytics_build import answered_on
from .analytics_rebuild import rebuild_on_copy
from .analytics_source import AnalyticsSource, analytics_source
from .build_plan import Plan
from .build_queue import WAKE_UP, Claim, abandon, builds_waiting, claim_jobs, release
from .build_runner import run_chunks
from .build_steps import Step, prepare
from .history_purge import purge_quietly
from .in_place_rebuild import rebuilds_in_place
from .loop import PollingWorker
from .queue import new_worker_id
from .record_rebuild import rebuild_on_record
from .refresh_queue import claim_refresh, enqueue_due
from .refresh_runner import run_refresh
from .webhook_worker import WebhookWorker

log = logging.getLogger("segmentd.jobs")
T = TypeVar("T")

# How often a worker looks for time-dependent segments a refresh has not reached yet (besides
# at start and at each day boundary): a build that began before midnight and published after.
REFRESH_CHECK_SECONDS = 60.0
# Pauses before a step whose database was unavailable runs again (SQLite: another process
# kept the write lock past the busy timeout, as one committing back to back does to
# SQLite's polling busy handler). The job stays ours meanwhile: its next step's lease check
# says whether a rival took it over. Given up after the last: the job is abandoned.
UNAVAILABLE_PAUSES = (1.0, 2.0, 4.0, 8.0, 16.0)
# How often an idle worker brings the analytics copy up to date (builds and previews also do
# before they read it): a build then finds little to take.
ANALYTICS_DRAIN_SECONDS = 60.0


def run_job(
    db: Database, settings: Settings, claim: Claim, should_stop: Callable[[], bool]
) -> Step | None:
    """Run a claimed job until it is published, fails or is lost; None if it was handed back."""
    return run_jobs(db, settings, [claim], should_stop)[0]


def run_jobs(
    db: Database, settings: Settings, claims: list[Claim], should_stop: Callable[[], bool]
) -> list[Step | None]:
    """Run claimed jobs of one list together, chunk by chunk (``build_runner.run_chunks``)."""
    started = time.monotonic()
    for claim in claims:
        log.info(
            "build job %s started: tenant %s segment %s generation %s attempt %s",
            claim.job_id,
            claim.tenant_id,
            claim.segment_id,
            claim.generation,
            claim.attempt,
        )
    try:
        steps = _run_steps(db, settings, claims, should_stop)
    except Exception as exc:
        if len(claims) > 1:
            # One job's error must not fail the others: each goes on alone from its cursor.
            log.exception("build jobs %s hit an error together", [c.job_id for c in claims])
            return [run_job(db, settings, claim, should_stop) for claim in claims]
        (claim,) = claims
        log.exception("build job %s hit an error on attempt %s", claim.job_id, claim.attempt)
        _abandon_quietly(db, claim, f"{type(exc).__name__}: {exc}")
        return [None]
    elapsed = time.monotonic() - started
    for claim, step in zip(claims, steps, strict=True):
        if step is None:
            log.info("build job %s handed back after %.2fs", claim.job_id, elapsed)
        else:
            log.info("build job %s ended %s after %.2fs", claim.job_id, step.value, elapsed)
    return steps


def _run_steps(
    db: Database, settings: Settings, claims: list[Claim], should_stop: Callable[[], bool]
) -> list[Step | None]:
    steps: dict[int, Step | None] = {}
    work: list[tuple[Claim, Plan]] = []
    source = analytics_source(settings.analytics)
    for claim in claims:
        plan = _patiently(partial(prepare, db, settings, claim), should_stop)
        if isinstance(plan, Plan):
            # The copy's query runs on ClickHouse; the system of record's reads the whole
            # list in the transaction (SQLite's writers all wait for it).
            most = None if source is not None else settings.rebuild_in_place_members
            if settings.rebuild_in_place_limit and rebuilds_in_place(db, claim, most):
                step = _rebuild_in_place(source, db, settings, claim, plan, should_stop)
                if step is not None:
                    steps[claim.job_id] = step
                    continue
            if source is not None:
                plan = answered_on(source, db, claim, plan)
            work.append((claim, plan))
        else:
            steps[claim.job_id] = plan
    while work:
        if should_stop():
            for claim, _plan in work:
                release(db, claim)
                steps[claim.job_id] = None
            break
        results = _patiently(partial(run_chunks, db, settings, work), should_stop)
        for (claim, _plan), step in zip(work, results, strict=True):
            steps[claim.job_id] = step
        work = [item for item, step in zip(work, results, strict=True) if step is Step.PROGRESS]
    return [steps[claim.job_id] for claim in claims]


def _rebuild_in_place(
    source: AnalyticsSource | None,
    db: Database,
    settings: Settings,
    claim: Claim,
    plan: Plan,
    should_stop: Callable[[], bool],
) -> Step | None:
    """Rebuild the published segment in place, its difference found on the analytics copy
    when there is one, else on the system of record; None: build a new generation."""
    if source is not None:
        return rebuild_on_copy(source, db, settings, claim, plan)
    return _patiently(partial(rebuild_on_record, db, settings, claim, plan), should_stop)


def _patiently(step: Callable[[], T], should_stop: Callable[[], bool]) -> T:
    """Run a build step, again after each of ``UNAVAILABLE_PAUSES`` while the database is
    unavailable (unless the worker is stopping): steps are repeatable, and a rollback wrote
    nothing."""
    for pause in UNAVAILABLE_PAUSES:
        try:
            return step()
        except DatabaseUnavailable as exc:
            if should_stop():
                raise
            log.warning("build step waits %.0f s: %s", pause, exc)
            time.sleep(pause)
    return step()


def _abandon_quietly(db: Database, claim: Claim, error: str) -> None:
    # If even this fails (database gone), the lease simply expires and the job is reclaimed.
    try:
        abandon(db, claim, error[:2000])
    except Exception:
        log.exception("could not record the error of build job %s", claim.job_id)


def run_pending(db: Database, settings: Settings) -> int:
    """Run every claimable job to the end in this thread; return how many were done or failed."""
    owner = new_worker_id()
    finished = 0
    while claims := claim_jobs(db, owner, settings.lease_seconds, settings.build_group_size):
        steps = run_jobs(db, settings, claims, lambda: False)
        finished += sum(step in (Step.DONE, Step.FAILED) for step in steps)
    return finished


class Worker(PollingWorker):
    """A daemon thread claiming and running build jobs, and daily refreshes when no build
    waits, until stopped."""

    kind = "build"
    queue = WAKE_UP

    def __init__(self, db: Database, settings: Settings) -> None:
        super().__init__(db, settings)
        self._checked: tuple[date, float] | None = None  # (day, monotonic time) of the last check
        self._analytics = analytics_source(settings.analytics)
        self._drained_at: float | None = None  # monotonic time of the last analytics drain

    def work_once(self) -> bool:
        """Run one job if there is one; False when idle (or the database failed)."""
        settings = self.settings
        self._queue_due_refreshes()
        try:
            claims = claim_jobs(self.db, self.id, settings.lease_seconds, settings.build_group_size)
        except Exception:
            log.exception("build worker %s could not claim a job", self.id)
            return False
        if not claims:
            if self._refresh_once():
                return True
            purge_quietly(self.db, settings)
            self._drain_analytics()
            return False
        steps = run_jobs(self.db, settings, claims, self._stopping.is_set)
        return any(step is not None for step in steps)

    def _queue_due_refreshes(self) -> None:
        """At start, at each day boundary of the tenant's zone and every
        ``REFRESH_CHECK_SECONDS``: queue a refresh of each list whose time-dependent segments
        count from an older day (a missed day after downtime is one of them)."""
        today, clock_now = clock.today(self.settings.tz), time.monotonic()
        if self._checked is not None:
            day, at = self._checked
            if day == today and clock_now - at < REFRESH_CHECK_SECONDS:
                return
        try:
            queued = enqueue_due(self.db, today)
        except Exception:
            log.exception("build worker %s could not check for due refreshes", self.id)
            return
        self._checked = (today, clock_now)
        if queued:
            log.info("%s lists queued for the refresh of %s", queued, today)

    def _drain_analytics(self) -> None:
        """When idle, every ``ANALYTICS_DRAIN_SECONDS``: take the outbox into the analytics
        copy. A failure (ClickHouse down) is logged; the outbox keeps the changes."""
        if self._analytics is None:
            return
        at = time.monotonic()
        if self._drained_at is not None and at - self._drained_at < ANALYTICS_DRAIN_SECONDS:
            return
        self._drained_at = at
        try:
            drained = self._analytics.drain(self.db)
        except Exception:
            log.exception("build worker %s could not drain the analytics outbox", self.id)
            return
        if drained:
            log.info("analytics copy brought up to date for tenants %s", sorted(drained))

    def _refresh_once(self) -> bool:
        """Run a daily refresh if one is queued, handing it back when a build arrives."""
        try:
            claim = claim_refresh(self.db, self.id, self.settings.lease_seconds)
        except Exception:
            log.exception("build worker %s could not claim a refresh", self.id)
            return False
        if claim is None:
            return False

        def should_yield() -> bool:
            return self._stopping.is_set() or builds_waiting(self.db)

        return run_refresh(self.db, self.settings, claim, should_yield) is not None


def run_forever(settings: Settings) -> None:
    """``segmentd worker``: migrate, then run builds (and webhook deliveries) until SIGINT
    or SIGTERM."""
    log_setup.configure(settings)
    db = Database(settings.database_url, analytics_outbox=settings.analytics is not None)
    db.migrate()
    try:
        verify_secret(db, settings)  # the same secret as the servers, or none of them starts
    except Exception:
        db.dispose()
        raise
    worker = Worker(db, settings)
    webhooks = WebhookWorker(db, settings)  # deliveries beside the builds, in a thread

    def _on_signal(signum: int, _frame: FrameType | None) -> None:
        log.info("signal %s: stopping after the current chunk", signum)
        worker.request_stop()
        webhooks.request_stop()

    signal.signal(signal.SIGINT, _on_signal)
    signal.signal(signal.SIGTERM, _on_signal)
    webhooks.start()
    try:
        worker.run()
    finally:
        webhooks.stop()
        db.dispose()
