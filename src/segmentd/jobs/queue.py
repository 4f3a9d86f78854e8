"""A durable job queue with leases, over any job table (``build_jobs``, ``import_jobs``, ...).

A job table has an ``id`` (claim order), ``state``, ``attempts``, ``lease_owner``,
``lease_expires_at`` (epoch seconds), ``error`` and ``updated_at``; the rest is the job's own.
A table may also have ``lease_expiries`` (counted at each reclaim after a lease ran out: a job
that keeps losing its workers is reported stuck, ``storage.job_health``), ``started_at`` (set
at the first claim) and ``finished_at`` (set by ``finish``): the queue keeps those it has.

The contract:

- **Claim.** A worker claims the oldest ``queued`` job, or a ``running`` one whose lease ran
  out, and holds it until ``lease_expires_at``; each claim counts one attempt. On PostgreSQL
  the claim locks the row ``FOR UPDATE SKIP LOCKED``, so workers claim side by side and never
  take one row twice; on SQLite the write transaction (``BEGIN IMMEDIATE``) is the only
  writer. Either way two workers never hold one job with a live lease.
- **Work in idempotent chunks.** The holder does the job in chunks, one write transaction
  each, that start by renewing the lease (``renew``: False when the job is no longer ours,
  and then the chunk writes nothing) and save where the job got to in that same
  transaction. A chunk run twice gives the same result.
- **A slow holder keeps its job.** A chunk run in ``step`` (builds, daily refreshes and
  imports) ends by renewing the lease again, sized from the chunk's
  own time, its wait for the write lock included (``lease_for``): the lease runs from the
  commit however long the chunk took, and a machine slow enough to stretch a chunk
  stretches the lease with it. A rival reclaims a job only from a holder that stopped
  (dead, hung) or that waited for the database far longer than its last chunk took.
- **Crash.** A worker that dies (kill -9, power loss) commits nothing more: its lease
  expires and any worker reclaims the job, which resumes from its last committed chunk.
  ``abandon`` expires the lease at once after an unexpected error, keeping the error.
- **Hand back.** ``release`` puts a held job back in the queue (a graceful stop); that claim
  does not count as an attempt.
- **Finish.** ``finish`` ends the job (done, failed, superseded...); it leaves the queue.
- **Attempts.** A job claimed more than ``max_attempts`` times (``exhausted``) is one that
  keeps crashing its workers: its owner fails it instead of running it again.

Every function takes the caller's write transaction, so that a claim or a renewal commits
together with the job's own writes.
"""

from __future__ import annotations

import os
import secrets
import socket
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Row

from .. import metrics
from ..domain.statuses import JobState
from ..storage.db import Database
from ..timefmt import now

UNFINISHED = (JobState.QUEUED, JobState.RUNNING)
# A lease taken at the end of a chunk covers this many chunks as long as that one.
LEASE_CHUNKS = 3


def lease_for(lease_seconds: float, took_seconds: float) -> float:
    """How long a holder's lease runs after a chunk that took ``took_seconds`` (its wait for
    the write lock included): ``lease_seconds``, or longer on a machine that slows chunks."""
    return max(lease_seconds, LEASE_CHUNKS * took_seconds)


def new_worker_id() -> str:
    """Unique per worker: the lease owner written on claimed jobs (fits in 64 characters)."""
    return f"{socket.gethostname()[:40]}:{os.getpid()}:{secrets.token_hex(4)}"


def owner_is_gone(owner: str | None) -> bool:
    """True when ``owner`` (``new_worker_id``) was a process of this host that no longer runs."""
    if not owner:
        return True
    parts = owner.rsplit(":", 2)
    if len(parts) != 3 or parts[0] != socket.gethostname()[:40] or not parts[1].isdigit():
        return False
    try:
        os.kill(int(parts[1]), 0)
    except ProcessLookupError:
        return True
    except PermissionError:
        return False
    return False


@dataclass(frozen=True)
class Leased:
    """A job row as it was just before this claim, and the attempt the claim is."""

    row: Row[Any]
    attempt: int


@dataclass(frozen=True)
class LeaseQueue:
    """The lease operations on one job table."""

    table: sa.Table
    max_attempts: int

    @property
    def name(self) -> str:
        """The queue's name in metrics: ``build`` for ``build_jobs``."""
        return self.table.name.removesuffix("_jobs")

    def claimable(self, clock: float) -> sa.ColumnElement[bool]:
        """Queued, or running on a lease that ran out before ``clock``."""
        c = self.table.c
        return sa.or_(
            c.state == JobState.QUEUED,
            sa.and_(c.state == JobState.RUNNING, c.lease_expires_at < clock),
        )

    def claim_next(
        self,
        conn: Connection,
        owner: str,
        lease_end: float,
        *where: sa.ColumnElement[bool],
        columns: tuple[sa.ColumnElement[Any], ...] = (),
    ) -> Leased | None:
        """Claim the oldest claimable job matching ``where``, ours until ``lease_end``.

        ``columns``: more to read with the job row (a scalar subquery, say).
        """
        query = (
            sa.select(self.table, *columns)
            .where(self.claimable(time.time()), *where)
            .order_by(self.table.c.id)
            .limit(1)
        )
        claimed = self.claim_rows(conn, query, owner, lease_end)
        return claimed[0] if claimed else None

    def claim_rows(
        self, conn: Connection, query: sa.Select[Any], owner: str, lease_end: float
    ) -> list[Leased]:
        """Claim the jobs ``query`` selects (whole rows of the table), skipping locked ones;
        the caller's ``query`` decides which are claimable."""
        rows = conn.execute(query.with_for_update(of=self.table, skip_locked=True)).all()
        return [self._take(conn, row, owner, lease_end) for row in rows]

    def claim_held_or_free(
        self, conn: Connection, job_id: int, owner: str, lease_end: float
    ) -> Leased | None:
        """Claim this very job unless a live owner holds it; None when held or finished.

        A job whose owner was a process of this host that is gone is free at once.
        """
        row = conn.execute(
            sa.select(self.table).where(self.table.c.id == job_id).with_for_update()
        ).first()
        if row is None or row.state not in UNFINISHED:
            return None
        expired = row.lease_expires_at is None or row.lease_expires_at < time.time()
        if row.state == JobState.RUNNING and not expired and not owner_is_gone(row.lease_owner):
            return None
        return self._take(conn, row, owner, lease_end)

    def _take(self, conn: Connection, row: Row[Any], owner: str, lease_end: float) -> Leased:
        c = self.table.c
        values: dict[str, Any] = {
            "state": JobState.RUNNING,
            "lease_owner": owner,
            "lease_expires_at": lease_end,
            "attempts": c.attempts + 1,
            "updated_at": now(),
        }
        # ``abandon`` ends a lease at 0 after an error: that is not a worker lost.
        expired = row.state == JobState.RUNNING and bool(row.lease_expires_at)
        if expired:
            metrics.lease_expired(self.name)
            if "lease_expiries" in c:
                values["lease_expiries"] = c.lease_expiries + 1
        if "started_at" in c:
            values["started_at"] = sa.func.coalesce(c.started_at, time.time())
        conn.execute(sa.update(self.table).where(c.id == row.id).values(**values))
        return Leased(row, int(row.attempts) + 1)

    def exhausted(self, attempt: int) -> bool:
        """Claimed more often than a job may be: fail it rather than run it again."""
        return attempt > self.max_attempts

    def held(self, job_id: int, owner: str) -> sa.Update:
        """An UPDATE of the job that matches only while ``owner`` holds it."""
        c = self.table.c
        return sa.update(self.table).where(
            c.id == job_id, c.lease_owner == owner, c.state == JobState.RUNNING
        )

    def renew(self, conn: Connection, job_id: int, owner: str, lease_seconds: float) -> bool:
        """Extend our lease by ``lease_seconds`` from now; False when the job is not ours."""
        renewed = conn.execute(
            self.held(job_id, owner).values(
                lease_expires_at=time.time() + lease_seconds, updated_at=now()
            )
        )
        return renewed.rowcount == 1

    @contextmanager
    def step(
        self, db: Database, job_ids: Sequence[int], owner: str, lease_seconds: float
    ) -> Iterator[Connection]:
        """A chunk's write transaction, whose last statement renews the leases of ``job_ids``
        still ours (``lease_for`` the time since the chunk asked for the write lock).

        During the transaction no rival can reclaim them: SQLite has one writer, and on
        PostgreSQL the chunk's first ``renew`` locks the job rows that claims skip."""
        asked = time.monotonic()
        with db.write() as conn:
            yield conn
            lease = lease_for(lease_seconds, time.monotonic() - asked)
            c = self.table.c
            conn.execute(
                sa.update(self.table)
                .where(c.id.in_(job_ids), c.lease_owner == owner, c.state == JobState.RUNNING)
                .values(lease_expires_at=time.time() + lease, updated_at=now())
            )

    def release(self, conn: Connection, job_id: int, owner: str) -> None:
        """Hand the job back to the queue; this claim does not count as an attempt."""
        conn.execute(
            self.held(job_id, owner).values(
                state=JobState.QUEUED,
                lease_owner=None,
                lease_expires_at=None,
                attempts=self.table.c.attempts - 1,
                updated_at=now(),
            )
        )

    def abandon(self, conn: Connection, job_id: int, owner: str, error: str) -> None:
        """Give up this attempt: the lease ends now, so any worker may retry at once."""
        abandoned = conn.execute(
            self.held(job_id, owner).values(lease_expires_at=0, error=error, updated_at=now())
        )
        if abandoned.rowcount == 1:
            metrics.job_error(self.name)

    def finish(
        self,
        conn: Connection,
        job_id: int,
        state: str,
        *,
        owner: str | None = None,
        error: str | None = None,
    ) -> bool:
        """End the job in ``state`` with ``error``; with ``owner``, only while it holds it.
        False when nothing matched."""
        update = (
            self.held(job_id, owner)
            if owner is not None
            else sa.update(self.table).where(self.table.c.id == job_id)
        )
        values: dict[str, Any] = {
            "state": state,
            "error": error,
            "lease_owner": None,
            "lease_expires_at": None,
            "updated_at": now(),
        }
        if "finished_at" in self.table.c:
            values["finished_at"] = time.time()
        ended = conn.execute(update.values(**values))
        if ended.rowcount == 1 and state == JobState.FAILED:
            metrics.job_failed(self.name)
        return ended.rowcount == 1
