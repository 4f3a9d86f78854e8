"""The build worker: claims build jobs and runs them, in a thread of the server or on its own.

Several workers, in one process or many, may share a database: claims are leased, and a
worker that dies mid-build leaves a job another worker reclaims once the lease expires.
"""

from __future__ import annotations

import logging
import signal
import time
from collections.abc import Callable
from types import FrameType

from ..settings import Settings
from ..storage.db import Database
from .builds import Claim, Plan, Step, abandon, claim_job, prepare, release, run_chunk
from .loop import PollingWorker, new_worker_id

log = logging.getLogger("segmentd.jobs")


def run_job(
    db: Database, settings: Settings, claim: Claim, should_stop: Callable[[], bool]
) -> Step | None:
    """Run a claimed job until it is published, fails or is lost; None if it was handed back."""
    started = time.monotonic()
    log.info(
        "build job %s started: tenant %s segment %s generation %s attempt %s",
        claim.job_id,
        claim.tenant_id,
        claim.segment_id,
        claim.generation,
        claim.attempt,
    )
    try:
        step = _run_steps(db, settings, claim, should_stop)
    except Exception as exc:
        log.exception("build job %s hit an error on attempt %s", claim.job_id, claim.attempt)
        _abandon_quietly(db, claim, f"{type(exc).__name__}: {exc}")
        return None
    elapsed = time.monotonic() - started
    if step is None:
        log.info("build job %s handed back after %.2fs", claim.job_id, elapsed)
    else:
        log.info("build job %s ended %s after %.2fs", claim.job_id, step.value, elapsed)
    return step


def _run_steps(
    db: Database, settings: Settings, claim: Claim, should_stop: Callable[[], bool]
) -> Step | None:
    plan = prepare(db, settings, claim)
    if not isinstance(plan, Plan):
        return plan
    while True:
        if should_stop():
            release(db, claim)
            return None
        step = run_chunk(db, settings, claim, plan)
        if step is not Step.PROGRESS:
            return step


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
    while (claim := claim_job(db, owner, settings.lease_seconds)) is not None:
        if run_job(db, settings, claim, lambda: False) in (Step.DONE, Step.FAILED):
            finished += 1
    return finished


class Worker(PollingWorker):
    """A daemon thread claiming and running build jobs until stopped."""

    kind = "build"

    def work_once(self) -> bool:
        """Run one job if there is one; False when idle (or the database failed)."""
        try:
            claim = claim_job(self.db, self.id, self.settings.lease_seconds)
        except Exception:
            log.exception("build worker %s could not claim a job", self.id)
            return False
        if claim is None:
            return False
        step = run_job(self.db, self.settings, claim, self._stopping.is_set)
        return step is not None


def run_forever(settings: Settings) -> None:
    """``segmentd worker``: migrate, then run builds until SIGINT or SIGTERM."""
    if not logging.getLogger().handlers:
        logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    db = Database(settings.database_url)
    db.migrate()
    worker = Worker(db, settings)

    def _on_signal(signum: int, _frame: FrameType | None) -> None:
        log.info("signal %s: stopping after the current chunk", signum)
        worker.request_stop()

    signal.signal(signal.SIGINT, _on_signal)
    signal.signal(signal.SIGTERM, _on_signal)
    try:
        worker.run()
    finally:
        db.dispose()
