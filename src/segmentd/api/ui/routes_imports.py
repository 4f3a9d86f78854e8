"""Member imports in the browser: upload a CSV, map its columns to fields, start the import,
follow it, and see its rejected rows (with the rejects file to download).

The job is the API's own (``imports.service.submit_api_import``): the same header checks and
limits, the same durable job the server's import worker runs. The upload waits in the upload
directory under a name holding the tenant and a random token; the mapping form sends the token
back, so a tenant can only start its own upload. Columns are mapped by renames (the API's
``map``); a column left out is renamed to a name nothing matches and skipped.
"""

from __future__ import annotations

import re
import shutil
from pathlib import Path
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import FileResponse, Response
from starlette.datastructures import UploadFile

from ...domain.fields import FieldDef
from ...domain.ids import ascii_int
from ...imports.import_jobs import ImportJob, ImportOptions, ImportState
from ...imports.mapping import SYSTEM_TARGETS
from ...imports.service import ImportRefused, job_status, submit_api_import
from ...imports.source import (
    FINGERPRINT_BYTES,
    MAX_CELL_CHARS,
    MAX_COLUMNS,
    MAX_HEADER_CELL,
    MAX_ROW_BYTES,
    check_encoding,
    read_header,
)
from ...imports.uploads import new_upload_path, upload_dir
from ...storage.field_defs import list_fields
from ...storage.tags import MAX_TAGS_PER_MEMBER
from ...storage.tenants import default_list_id, list_exists
from ...storage.ui_reads import tenant_lists
from .deps import Config, Db, Form, UiNotFound, User, redirect
from .refusal_words import refusal
from .rendering import render

router = APIRouter(prefix="/ui/imports", include_in_schema=False)
SKIP = "(skipped)"  # a rename target no column or field can be: the column is ignored
_TOKEN = re.compile(r"[0-9a-f]{16}")
_COPY_BUFFER = 1024 * 1024
LIMITS = {
    "columns": MAX_COLUMNS,
    "column_name": MAX_HEADER_CELL,
    "row_bytes": MAX_ROW_BYTES,
    "cell": MAX_CELL_CHARS,
    "tags": MAX_TAGS_PER_MEMBER,
    "checked_mib": FINGERPRINT_BYTES // (1024 * 1024),
}
TAG_FLAGS = {  # the API's tag_flag
    "1": "Add them to a member's tags",
    "0": "Replace a member's tags with them",
    "2": "Keep a member's tags as they are",
}
STATE_WORDS = {"queued": "Waiting", "running": "Running", "done": "Finished", "failed": "Failed"}


def _upload_page(request: Request, user: User, error: str = "", status: int = 200) -> Response:
    return render(
        request, "imports.html", user=user, status_code=status, limits=LIMITS, error=error
    )


@router.get("")
def imports_page(request: Request, user: User) -> Response:
    return _upload_page(request, user)


def _store(upload: UploadFile, path: Path) -> None:
    with path.open("wb") as out:
        shutil.copyfileobj(upload.file, out, _COPY_BUFFER)


@router.post("")
def upload(request: Request, user: User, db: Db, form: Form, settings: Config) -> Response:
    """Keep the file and answer the mapping form (no redirect: the token goes in the form)."""
    sent = form.get("file")
    if not isinstance(sent, UploadFile) or not sent.filename:
        return _upload_page(request, user, "Choose a CSV file.", status=400)
    path = new_upload_path(settings, user.tenant_id)
    _store(sent, path)
    try:
        header, _ = read_header(path)
        check_encoding(path)
    except ValueError as exc:  # SourceError: the API's words
        path.unlink(missing_ok=True)
        return _upload_page(request, user, refusal(request, str(exc)), status=400)
    token = path.stem.rsplit("-", 1)[1]
    return _map_page(request, user, db, token, header, _suggested(header, _fields(db, user)))


def _fields(db: Db, user: User) -> list[FieldDef]:
    with db.read() as conn:
        return list_fields(conn, user.tenant_id)


def _targets(fields: list[FieldDef]) -> list[str]:
    return [*SYSTEM_TARGETS, *(f.name for f in fields)]


def _suggested(header: list[str], fields: list[FieldDef]) -> list[str]:
    """Each column's target by its name (any letter case), as the import matches it; else
    skipped."""
    by_key = {target.casefold(): target for target in _targets(fields)}
    return [by_key.get(column.casefold(), SKIP) for column in header]


def _map_page(
    request: Request,
    user: User,
    db: Db,
    token: str,
    header: list[str],
    chosen: list[str],
    *,
    form: dict[str, str] | None = None,
    error: str = "",
    status: int = 200,
) -> Response:
    with db.read() as conn:
        lists = tenant_lists(conn, user.tenant_id)
    return render(
        request,
        "import_map.html",
        user=user,
        status_code=status,
        token=token,
        lists=lists,
        columns=list(zip(header, chosen, strict=True)),
        targets=_targets(_fields(db, user)),
        skip=SKIP,
        tag_flags=TAG_FLAGS,
        form=form or {"tag_flag": "1", "update_existing": "on"},
        error=error,
    )


def _upload_path(settings: Config, user: User, raw: str) -> Path:
    """The tenant's own waiting upload (its name holds the tenant), else the 404 page."""
    if not _TOKEN.fullmatch(raw):
        raise UiNotFound()
    path = upload_dir(settings) / f"tenant{user.tenant_id}-{raw}.csv"
    if not path.is_file():
        raise UiNotFound()
    return path


@router.post("/start")
def start(request: Request, user: User, db: Db, form: Form, settings: Config) -> Response:
    token = str(form.get("upload") or "")
    path = _upload_path(settings, user, token)
    try:
        header, _ = read_header(path)
    except ValueError:
        raise UiNotFound() from None  # only a checked file waits here
    chosen = [str(form.get(f"map_{i}") or SKIP) for i in range(len(header))]
    posted = {k: str(form.get(k) or "") for k in ("tag_flag", "update_existing", "list_id")}
    tag_flag = ascii_int(posted["tag_flag"], 1)
    if tag_flag is None or str(tag_flag) not in TAG_FLAGS:
        tag_flag = 1
    renames = {column.casefold(): target for column, target in zip(header, chosen, strict=True)}
    options = ImportOptions(tag_flag, posted["update_existing"] == "on", renames, True)
    try:
        list_id = _target_list(db, user, posted["list_id"])
        job_id = submit_api_import(
            db, settings, user.tenant_id, list_id, path, options, keep_rejects=True
        )
    except ImportRefused as exc:
        message = str(exc).replace("--map Column=Field or pass --ignore-unknown", "the form")
        message = refusal(request, message)
        return _map_page(
            request, user, db, token, header, chosen, form=posted, error=message, status=400
        )
    return redirect(request, f"/ui/imports/{job_id}")


def _target_list(db: Db, user: User, raw: str) -> int:
    """The chosen list of the tenant; none chosen: its default list; another's: the 404 page."""
    with db.read() as conn:
        if not raw:
            return default_list_id(conn, user.tenant_id)
        list_id = ascii_int(raw) or 0
        if not list_exists(conn, user.tenant_id, list_id):
            raise UiNotFound()
        return list_id


def _job(db: Db, user: User, raw: str) -> ImportJob:
    job = job_status(db, user.tenant_id, ascii_int(raw) or 0)
    if job is None:
        raise UiNotFound()
    return job


def _progress_context(request: Request, job: ImportJob) -> dict[str, Any]:
    finished = job.state in (ImportState.DONE, ImportState.FAILED)
    rejects = job.rejects_path is not None and Path(job.rejects_path).is_file()
    return {
        "job": job,
        "job_error": refusal(request, job.error) if job.error else "",
        "reasons": [refusal(request, str(rejected["reason"])) for rejected in job.errors],
        "finished": finished,
        "has_rejects": rejects and job.rejected > 0,
        "state_words": STATE_WORDS,
    }


@router.get("/{job_id}")
def job_page(request: Request, job_id: str, user: User, db: Db) -> Response:
    job = _job(db, user, job_id)
    return render(request, "import_job.html", user=user, **_progress_context(request, job))


@router.get("/{job_id}/progress")
def job_progress(request: Request, job_id: str, user: User, db: Db) -> Response:
    job = _job(db, user, job_id)
    return render(
        request, "partials/import_progress.html", user=user, **_progress_context(request, job)
    )


@router.get("/{job_id}/rejects.csv")
def rejects_file(job_id: str, user: User, db: Db) -> Response:
    job = _job(db, user, job_id)
    if job.rejects_path is None or not Path(job.rejects_path).is_file():
        raise UiNotFound()
    return FileResponse(
        job.rejects_path, media_type="text/csv", filename=f"import-{job.id}-rejected.csv"
    )
