"""Start imports: check the file's header first, then create (or find again) the job.

The CLI resumes an unfinished job on the same file (path, size and first-MiB hash), target
and options; the API always creates a new job, which the server's import worker runs.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from ..settings import Settings
from ..storage.db import Database
from ..storage.schema import campaigns, lists
from .import_jobs import (
    ImportJob,
    ImportOptions,
    Kind,
    Origin,
    claim_job,
    create_job,
    find_unfinished,
    get_job,
)
from .import_plans import make_plan
from .mapping import MappingError
from .source import check_encoding, fingerprint, read_header

REJECTS_SUFFIX = ".rejected.csv"


class ImportRefused(ValueError):
    """The import cannot start; the message says why (nothing was written)."""


@dataclass(frozen=True)
class Target:
    kind: Kind
    tenant_id: int
    list_id: int | None = None
    campaign_id: int | None = None


def target_of(conn: Connection, kind: Kind, target_id: int) -> Target:
    """The tenant owning list (members) or campaign (events) ``target_id``, for the CLI."""
    table = lists if kind is Kind.MEMBERS else campaigns
    tenant_id = conn.execute(sa.select(table.c.tenant_id).where(table.c.id == target_id)).scalar()
    noun = "list" if kind is Kind.MEMBERS else "campaign"
    if tenant_id is None:
        raise ImportRefused(f"{noun} {target_id} does not exist")
    if kind is Kind.MEMBERS:
        return Target(kind, int(tenant_id), list_id=target_id)
    return Target(kind, int(tenant_id), campaign_id=target_id)


def check_file(
    conn: Connection, settings: Settings, target: Target, path: Path, options: ImportOptions
) -> int:
    """Refuse a file whose header cannot be imported; return where its first row starts."""
    try:
        header, start = read_header(path)
        check_encoding(path)
        make_plan(
            conn,
            kind=target.kind,
            tenant_id=target.tenant_id,
            header=header,
            options=options,
            tz=settings.tz,
            list_id=target.list_id,
            campaign_id=target.campaign_id,
        )
    except ValueError as exc:  # MappingError, SourceError
        raise ImportRefused(str(exc)) from None
    return start


def start_cli_import(
    db: Database,
    settings: Settings,
    target_id: int,
    kind: Kind,
    path: Path,
    options: ImportOptions,
    owner: str,
) -> tuple[ImportJob, bool]:
    """The claimed job for this file and whether it resumes an interrupted one."""
    path = path.resolve()
    if not path.is_file():
        raise ImportRefused(f"no such file: {path}")
    found = fingerprint(path)
    with db.write() as conn:
        target = target_of(conn, kind, target_id)
        start = check_file(conn, settings, target, path, options)
        job = find_unfinished(
            conn,
            tenant_id=target.tenant_id,
            kind=kind,
            path=str(path),
            fingerprint=found,
            list_id=target.list_id,
            campaign_id=target.campaign_id,
        )
        resumed = job is not None and job.options == options
        job_id = job.id if job is not None and resumed else None
        if job_id is None:
            job_id = create_job(
                conn,
                tenant_id=target.tenant_id,
                kind=kind,
                origin=Origin.CLI,
                path=str(path),
                fingerprint=found,
                start_offset=start,
                options=options,
                list_id=target.list_id,
                campaign_id=target.campaign_id,
                rejects_path=str(path.with_name(path.name + REJECTS_SUFFIX)),
            )
    claimed = claim_job(db, job_id, owner, settings.lease_seconds)
    if claimed is None:
        raise ImportRefused(f"import job {job_id} of this file is running in another process")
    return claimed, resumed


def submit_api_import(
    db: Database,
    settings: Settings,
    tenant_id: int,
    list_id: int,
    path: Path,
    options: ImportOptions,
    keep_rejects: bool = False,
) -> int:
    """Queue an uploaded file for the server's import worker; the job id. ``keep_rejects``
    writes the rejected rows beside the upload (``REJECTS_SUFFIX``), for the UI's download."""
    found = fingerprint(path)
    target = Target(Kind.MEMBERS, tenant_id, list_id=list_id)
    with db.write() as conn:
        start = check_file(conn, settings, target, path, options)
        return create_job(
            conn,
            tenant_id=tenant_id,
            kind=Kind.MEMBERS,
            origin=Origin.API,
            path=str(path),
            fingerprint=found,
            start_offset=start,
            options=options,
            list_id=list_id,
            rejects_path=str(path.with_name(path.name + REJECTS_SUFFIX)) if keep_rejects else None,
        )


def job_status(db: Database, tenant_id: int, job_id: int) -> ImportJob | None:
    with db.read() as conn:
        return get_job(conn, tenant_id, job_id)


__all__ = [
    "ImportRefused",
    "MappingError",
    "check_file",
    "job_status",
    "start_cli_import",
    "submit_api_import",
]
