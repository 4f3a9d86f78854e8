"""Run an import job chunk by chunk, from its last committed byte offset to the end of the file.

Each chunk is one write transaction: renew the lease, write the rows set-based, append the
rejected rows to the rejects file, save offset and counts, and renew the lease again for
as long as the chunk took (``LeaseQueue.step``). A crash anywhere leaves the job at
its last committed chunk; the next run truncates the rejects file back to the length recorded
with that chunk and goes on from there. Segments of the list are queued for a rebuild when
the first chunk of a run commits and when the import ends (durable builds keep them right;
evaluating a million members one by one in real time would not keep up).
"""

from __future__ import annotations

import csv
import logging
from collections.abc import Callable
from pathlib import Path

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from ..jobs.build_queue import enqueue_builds
from ..settings import Settings
from ..storage.db import Database
from ..storage.schema import segments
from ..storage.write_lock import lock_tenant_writes
from .chunks import Chunk, Slice, chunks
from .import_jobs import (
    IMPORTS,
    MAX_ATTEMPTS,
    MAX_KEPT_ERRORS,
    ImportJob,
    ImportState,
    Origin,
    RejectedRow,
    chunk_transaction,
    finish,
    release,
    renew,
    save_progress,
)
from .import_plans import Plan, make_plan
from .mapping import MappingError
from .source import SourceError, fingerprint, read_header

log = logging.getLogger("segmentd.imports")

DEFAULT_CHUNK_ROWS = 10_000
ProgressCallback = Callable[[ImportJob], None]


class Lost(Exception):
    """The job's lease is no longer ours: another runner took it over."""


def run_import(
    db: Database,
    settings: Settings,
    job: ImportJob,
    owner: str,
    *,
    chunk_rows: int = DEFAULT_CHUNK_ROWS,
    on_progress: ProgressCallback | None = None,
    should_stop: Callable[[], bool] = lambda: False,
    max_chunks: int | None = None,
) -> ImportState | None:
    """Run a claimed job to its end; None if it was stopped (handed back) or lost."""
    if job.origin is Origin.API and IMPORTS.exhausted(job.attempts):
        _fail(db, job, f"the import failed {MAX_ATTEMPTS} times; see the server log")
        return ImportState.FAILED
    try:
        plan = _prepare(db, settings, job)
    except (MappingError, SourceError) as exc:
        _fail(db, job, str(exc))
        return ImportState.FAILED
    rejects = RejectsFile(job)
    try:
        where = Slice(job.path, job.byte_offset, job.rows_done + 1, chunk_rows)
        for count, chunk in enumerate(chunks(plan.rules, where, job.file_size), start=1):
            _commit(db, settings, plan, job, owner, chunk, rejects, first=count == 1)
            if on_progress:
                on_progress(job)
            if should_stop() or (max_chunks is not None and count >= max_chunks):
                release(db, job, owner)
                return None
        _complete(db, settings, plan, job, owner)
    except Lost:
        log.warning("import job %s was taken over by another runner", job.id)
        return None
    except SourceError as exc:
        _fail(db, job, str(exc))
    finally:
        rejects.close()
    if on_progress:
        on_progress(job)
    return job.state


def _prepare(db: Database, settings: Settings, job: ImportJob) -> Plan:
    path = Path(job.path)
    if not path.is_file():
        raise SourceError(f"the file {job.path} is gone")
    found = fingerprint(path)
    if (found.size, found.digest) != (job.file_size, job.file_digest):
        raise SourceError(f"the file {job.path} changed since the import started")
    header, _ = read_header(path)
    with db.read() as conn:
        return make_plan(
            conn,
            kind=job.kind,
            tenant_id=job.tenant_id,
            header=header,
            options=job.options,
            tz=settings.tz,
            list_id=job.list_id,
            campaign_id=job.campaign_id,
        )


def _commit(
    db: Database,
    settings: Settings,
    plan: Plan,
    job: ImportJob,
    owner: str,
    chunk: Chunk,
    rejects: RejectsFile,
    first: bool,
) -> None:
    with chunk_transaction(db, job, owner, settings.lease_seconds) as conn:
        lock_tenant_writes(conn, job.tenant_id)
        if not renew(conn, job, owner, settings.lease_seconds):
            raise Lost()
        counts = plan.write(conn, chunk)
        chunk.rejects.sort()
        _record_rejects(plan, job, chunk, rejects)
        job.byte_offset = chunk.end
        job.rows_done += chunk.rows
        job.created += counts.created
        job.updated += counts.updated
        job.skipped += counts.skipped
        save_progress(conn, job)
        if first:
            rebuild_segments(conn, job.tenant_id, plan.list_id)


def _record_rejects(plan: Plan, job: ImportJob, chunk: Chunk, rejects: RejectsFile) -> None:
    for number, reason, cells in chunk.rejects:
        email_at = plan.rules.email_at
        email = cells[email_at] if email_at is not None and email_at < len(cells) else None
        if len(job.errors) < MAX_KEPT_ERRORS:
            job.errors.append(RejectedRow.shown(number, reason, email).to_json())
        rejects.write(number, reason, cells)
    job.rejected += len(chunk.rejects)
    job.rejects_offset = rejects.flush()


def _complete(db: Database, settings: Settings, plan: Plan, job: ImportJob, owner: str) -> None:
    with db.write() as conn:
        lock_tenant_writes(conn, job.tenant_id)
        if not renew(conn, job, owner, settings.lease_seconds):
            raise Lost()
        rebuild_segments(conn, job.tenant_id, plan.list_id)
        finish(conn, job, ImportState.DONE)
    log.info(
        "import job %s done: %s rows, %s created, %s updated, %s rejected",
        job.id,
        job.rows_done,
        job.created,
        job.updated,
        job.rejected,
    )


def _fail(db: Database, job: ImportJob, error: str) -> None:
    with db.write() as conn:
        finish(conn, job, ImportState.FAILED, error)
    log.warning("import job %s failed: %s", job.id, error)


def rebuild_segments(conn: Connection, tenant_id: int, list_id: int) -> None:
    """Queue a rebuild of every segment of the list (superseding builds already queued)."""
    ids = conn.execute(
        sa.select(segments.c.id)
        .where(segments.c.tenant_id == tenant_id, segments.c.list_id == list_id)
        .order_by(segments.c.id)
    ).scalars()
    enqueue_builds(conn, tenant_id, list(ids))


class RejectsFile:
    """The rejected rows as CSV (row, reason, then the row's own cells), when the job keeps one.

    Opened at the length recorded with the last committed chunk: lines written by a run that
    crashed before its commit are cut off, so each rejected row appears exactly once.
    """

    def __init__(self, job: ImportJob) -> None:
        self.path = Path(job.rejects_path) if job.rejects_path else None
        self.length = job.rejects_offset
        self._handle = None
        self._writer = None
        if self.path is None:
            return
        if not self.path.exists():
            self.path.touch()
        # Cells with bytes that are not UTF-8 are written back as they were in the file.
        handle = self.path.open("r+", encoding="utf-8", errors="surrogateescape", newline="")
        handle.truncate(self.length)
        handle.seek(self.length)
        self._handle = handle
        self._writer = csv.writer(handle)
        if self.length == 0:
            header, _ = read_header(Path(job.path))
            self._writer.writerow(["row", "reason", *header])

    def write(self, number: int, reason: str, cells: list[str]) -> None:
        if self._writer is not None:
            self._writer.writerow([number, reason, *cells])

    def flush(self) -> int:
        if self._handle is None:
            return self.length
        self._handle.flush()
        self.length = self._handle.tell()
        return self.length

    def close(self) -> None:
        if self._handle is not None:
            self._handle.close()
