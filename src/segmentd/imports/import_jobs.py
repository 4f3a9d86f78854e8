"""Import jobs on the lease queue (``jobs.queue``): create, find, claim, record progress, finish.

A job records the file (path, size, hash of its first MiB), the byte offset and row number
after its last committed chunk, its counts and the first rejected rows. Progress is saved in
the transaction that writes the chunk, so a chunk is never counted twice nor lost.
The owner renews its lease with every chunk; a job whose lease ran out (or whose owner
process on this host is gone) may be claimed again and resumes.
"""

from __future__ import annotations

import json
import time
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from ..domain.text import printable
from ..jobs.queue import LeaseQueue
from ..storage import wakeups
from ..storage.db import Database
from ..storage.schema import import_jobs
from ..timefmt import now
from .source import Fingerprint

# An API job claimed this many times without finishing fails rather than looping forever
# (a CLI job is retried by whoever runs the command again).
MAX_ATTEMPTS = 20
MAX_KEPT_ERRORS = 100  # rejected rows kept in the job; the count covers them all
MAX_SHOWN_REASON = 300  # characters of a kept reason
MAX_SHOWN_EMAIL = 140  # characters of a kept email cell (an email has at most 128)


class ImportState(StrEnum):
    QUEUED = "queued"
    RUNNING = "running"
    DONE = "done"
    FAILED = "failed"


class Kind(StrEnum):
    MEMBERS = "members"
    EVENTS = "events"


class Origin(StrEnum):
    CLI = "cli"  # resumed by running the same command again
    API = "api"  # run and resumed by the server's import worker


UNFINISHED = (ImportState.QUEUED, ImportState.RUNNING)
IMPORTS = LeaseQueue(import_jobs, MAX_ATTEMPTS)
WAKE_UP = "imports"  # the wake-up a queued import sends after its commit (``storage.wakeups``)


@dataclass(frozen=True)
class ImportOptions:
    tag_flag: int = 1
    update_existing: bool = True
    renames: dict[str, str] = field(default_factory=dict)
    ignore_unknown: bool = False

    def to_json(self) -> str:
        return json.dumps(
            {
                "tag_flag": self.tag_flag,
                "update_existing": self.update_existing,
                "renames": self.renames,
                "ignore_unknown": self.ignore_unknown,
            },
            sort_keys=True,
        )

    @classmethod
    def from_json(cls, text: str) -> ImportOptions:
        return cls(**json.loads(text))


@dataclass(frozen=True)
class RejectedRow:
    row: int
    reason: str
    email: str | None = None

    @classmethod
    def shown(cls, row: int, reason: str, email: str | None) -> RejectedRow:
        """As the job keeps it: cut short, with characters JSON cannot carry escaped."""
        shown_email = None if email is None else printable(email, MAX_SHOWN_EMAIL)
        return cls(row, printable(reason, MAX_SHOWN_REASON), shown_email)

    def to_json(self) -> dict[str, Any]:
        return {"row": self.row, "email": self.email, "reason": self.reason}


@dataclass
class ImportJob:
    id: int
    tenant_id: int
    kind: Kind
    origin: Origin
    list_id: int | None
    campaign_id: int | None
    options: ImportOptions
    path: str
    file_size: int
    file_digest: str
    state: ImportState
    byte_offset: int
    rows_done: int
    created: int
    updated: int
    skipped: int
    rejected: int
    errors: list[dict[str, Any]]
    rejects_path: str | None
    rejects_offset: int
    attempts: int
    lease_owner: str | None
    error: str | None

    @property
    def percent(self) -> int:
        if self.state is ImportState.DONE:
            return 100
        return min(99, self.byte_offset * 100 // self.file_size) if self.file_size else 0


def _job(row: sa.Row[Any]) -> ImportJob:
    m = row._mapping
    return ImportJob(
        id=int(m["id"]),
        tenant_id=int(m["tenant_id"]),
        kind=Kind(m["kind"]),
        origin=Origin(m["origin"]),
        list_id=m["list_id"],
        campaign_id=m["campaign_id"],
        options=ImportOptions.from_json(m["options"]),
        path=m["path"],
        file_size=int(m["file_size"]),
        file_digest=m["file_digest"],
        state=ImportState(m["state"]),
        byte_offset=int(m["byte_offset"]),
        rows_done=int(m["rows_done"]),
        created=int(m["created"]),
        updated=int(m["updated"]),
        skipped=int(m["skipped"]),
        rejected=int(m["rejected"]),
        errors=json.loads(m["errors"]),
        rejects_path=m["rejects_path"],
        rejects_offset=int(m["rejects_offset"]),
        attempts=int(m["attempts"]),
        lease_owner=m["lease_owner"],
        error=m["error"],
    )


def create_job(
    conn: Connection,
    *,
    tenant_id: int,
    kind: Kind,
    origin: Origin,
    path: str,
    fingerprint: Fingerprint,
    start_offset: int,
    options: ImportOptions,
    list_id: int | None = None,
    campaign_id: int | None = None,
    rejects_path: str | None = None,
) -> int:
    wakeups.after_commit(conn, WAKE_UP)
    jobs = import_jobs
    stamp = now()
    return int(
        conn.execute(
            sa.insert(jobs)
            .values(
                tenant_id=tenant_id,
                kind=str(kind),
                origin=str(origin),
                list_id=list_id,
                campaign_id=campaign_id,
                options=options.to_json(),
                path=path,
                file_size=fingerprint.size,
                file_digest=fingerprint.digest,
                state=ImportState.QUEUED,
                byte_offset=start_offset,
                rows_done=0,
                created=0,
                updated=0,
                skipped=0,
                rejected=0,
                errors="[]",
                rejects_path=rejects_path,
                rejects_offset=0,
                attempts=0,
                created_at=stamp,
                updated_at=stamp,
            )
            .returning(jobs.c.id)
        ).scalar_one()
    )


def get_job(conn: Connection, tenant_id: int, job_id: int) -> ImportJob | None:
    jobs = import_jobs
    row = conn.execute(
        sa.select(jobs).where(jobs.c.tenant_id == tenant_id, jobs.c.id == job_id)
    ).first()
    return _job(row) if row else None


def find_unfinished(
    conn: Connection,
    *,
    tenant_id: int,
    kind: Kind,
    path: str,
    fingerprint: Fingerprint,
    list_id: int | None = None,
    campaign_id: int | None = None,
) -> ImportJob | None:
    """The CLI job left unfinished on this very file and target, if any (newest first)."""
    c = import_jobs.c
    row = conn.execute(
        sa.select(import_jobs)
        .where(
            c.tenant_id == tenant_id,
            c.kind == str(kind),
            c.origin == Origin.CLI,
            c.state.in_(UNFINISHED),
            c.path == path,
            c.file_size == fingerprint.size,
            c.file_digest == fingerprint.digest,
            c.list_id.is_(None) if list_id is None else c.list_id == list_id,
            c.campaign_id.is_(None) if campaign_id is None else c.campaign_id == campaign_id,
        )
        .order_by(c.id.desc())
        .limit(1)
    ).first()
    return _job(row) if row else None


def claim_job(db: Database, job_id: int, owner: str, lease_seconds: float) -> ImportJob | None:
    """Take this job unless another live owner holds it; None when it is held or finished."""
    with db.write() as conn:
        leased = IMPORTS.claim_held_or_free(conn, job_id, owner, time.time() + lease_seconds)
        return None if leased is None else _reread(conn, job_id)


def claim_next(db: Database, origin: Origin, owner: str, lease_seconds: float) -> ImportJob | None:
    """The oldest claimable job of ``origin`` (API jobs: the server's import worker)."""
    with db.write() as conn:
        lease_end = time.time() + lease_seconds
        leased = IMPORTS.claim_next(conn, owner, lease_end, import_jobs.c.origin == str(origin))
        return None if leased is None else _reread(conn, int(leased.row.id))


def _reread(conn: Connection, job_id: int) -> ImportJob:
    return _job(conn.execute(sa.select(import_jobs).where(import_jobs.c.id == job_id)).one())


def chunk_transaction(
    db: Database, job: ImportJob, owner: str, lease_seconds: float
) -> AbstractContextManager[Connection]:
    """A chunk's write transaction, whose last statement renews our lease for at least as
    long as three such chunks (``LeaseQueue.step``): a slow chunk does not lose the job."""
    return IMPORTS.step(db, [job.id], owner, lease_seconds)


def renew(conn: Connection, job: ImportJob, owner: str, lease_seconds: float) -> bool:
    """Extend our lease at the start of a chunk's transaction; False when the job is not ours."""
    return IMPORTS.renew(conn, job.id, owner, lease_seconds)


def save_progress(conn: Connection, job: ImportJob) -> None:
    """Record the job's offsets and counts (call after ``renew`` in the chunk's transaction)."""
    jobs = import_jobs
    conn.execute(
        sa.update(jobs)
        .where(jobs.c.id == job.id)
        .values(
            byte_offset=job.byte_offset,
            rows_done=job.rows_done,
            created=job.created,
            updated=job.updated,
            skipped=job.skipped,
            rejected=job.rejected,
            errors=json.dumps(job.errors),
            rejects_offset=job.rejects_offset,
        )
    )


def finish(conn: Connection, job: ImportJob, state: ImportState, error: str | None = None) -> None:
    IMPORTS.finish(conn, job.id, state, error=error)
    job.state, job.error = state, error


def release(db: Database, job: ImportJob, owner: str) -> None:
    """Hand the job back after a graceful stop: it resumes from its last committed chunk."""
    with db.write() as conn:
        IMPORTS.release(conn, job.id, owner)
    job.state = ImportState.QUEUED
