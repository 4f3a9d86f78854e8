"""Daily refresh jobs on the lease queue: which lists are due, enqueue, claim, hand back.

A time-dependent segment (``segments.time_dependent``) is *due* when its published
membership counts relative dates from a day before today (``segments.exact_day``), in the
tenant's zone: after each day boundary, after downtime, or when a build that started before
midnight published after it. Each list with due segments gets one ``refresh_jobs`` row (none
while one is queued or running); ``refresh_runner`` runs it (``jobs.queue`` has the lease
contract).
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import date
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from ..domain.statuses import JobState, SegmentStatus
from ..storage.db import Database
from ..storage.schema import refresh_jobs, segments
from ..storage.write_lock import lock_tenant_writes
from ..timefmt import now
from .queue import UNFINISHED, Leased, LeaseQueue

# A refresh claimed this many times without finishing fails; its list waits for the next day.
MAX_ATTEMPTS = 5
REFRESHES = LeaseQueue(refresh_jobs, MAX_ATTEMPTS)


@dataclass(frozen=True)
class RefreshClaim:
    """A refresh job this worker holds the lease on."""

    job_id: int
    tenant_id: int
    list_id: int
    owner: str
    attempt: int


def due_segments(day: date) -> list[sa.ColumnElement[bool]]:
    """The segments whose published membership is older than ``day`` and moves with it."""
    s = segments.c
    return [
        s.time_dependent,
        s.generation > 0,
        s.status != SegmentStatus.FAILED,
        sa.or_(s.exact_day.is_(None), s.exact_day < day),
    ]


def _unrefreshed(day: date) -> sa.Select[Any]:
    """The lists with due segments and no refresh queued or running, nor one that failed
    today (one that keeps failing is tried again the next day, not every minute)."""
    s, r = segments.c, refresh_jobs.c
    taken = sa.exists().where(
        r.tenant_id == s.tenant_id,
        r.list_id == s.list_id,
        sa.or_(r.state.in_(UNFINISHED), sa.and_(r.state == JobState.FAILED, r.day == day)),
    )
    return sa.select(s.tenant_id, s.list_id).where(*due_segments(day), ~taken).distinct()


def enqueue_due(db: Database, day: date) -> int:
    """Queue a refresh of every list that has segments due on ``day``; how many were queued.

    Read first without a lock (most checks find nothing), then each list again under its
    tenant's write lock, so two workers checking at once queue it once.
    """
    with db.read() as conn:
        lists = conn.execute(_unrefreshed(day)).all()
    queued = 0
    for tenant_id, list_id in lists:
        with db.write() as conn:
            lock_tenant_writes(conn, tenant_id)
            queued += _enqueue_if_due(conn, tenant_id, list_id, day)
    return queued


def _enqueue_if_due(conn: Connection, tenant_id: int, list_id: int, day: date) -> int:
    s = segments.c
    found = conn.execute(
        _unrefreshed(day).where(s.tenant_id == tenant_id, s.list_id == list_id)
    ).first()
    if found is None:
        return 0
    conn.execute(
        sa.insert(refresh_jobs).values(
            tenant_id=tenant_id,
            list_id=list_id,
            state=JobState.QUEUED,
            cursor=0,
            processed=0,
            changed=0,
            attempts=0,
            created_at=now(),
            updated_at=now(),
        )
    )
    return 1


def claim_refresh(db: Database, owner: str, lease_seconds: float) -> RefreshClaim | None:
    """Take the oldest queued refresh, or a running one whose worker's lease ran out."""
    with db.write() as conn:
        leased = REFRESHES.claim_next(conn, owner, time.time() + lease_seconds)
    return None if leased is None else _claim(leased, owner)


def _claim(leased: Leased, owner: str) -> RefreshClaim:
    row = leased.row
    return RefreshClaim(row.id, row.tenant_id, row.list_id, owner, leased.attempt)


def release(db: Database, claim: RefreshClaim) -> None:
    """Hand the job back (a stop, or builds waiting): it resumes from its cursor."""
    with db.write() as conn:
        REFRESHES.release(conn, claim.job_id, claim.owner)


def abandon(db: Database, claim: RefreshClaim, error: str) -> None:
    """Give up this attempt after an unexpected error: any worker may retry at once."""
    with db.write() as conn:
        REFRESHES.abandon(conn, claim.job_id, claim.owner, error)
