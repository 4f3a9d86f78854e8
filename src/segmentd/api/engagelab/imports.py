"""CSV member imports as API jobs: ``/v1/marketing/lists/members/imports``.

The upload (multipart ``file`` or a ``text/csv`` body) is streamed to a file in the upload
directory, its header is checked (400 with every problem, nothing imported), then the job is
committed and the answer is 202 with its id. The server's import worker runs it; clients
poll ``GET .../imports/{job_id}`` for progress, counts and the first rejected rows.
"""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import IO, Annotated, Any

from fastapi import APIRouter, Depends, Query, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import JSONResponse
from starlette.datastructures import UploadFile

from ...imports.import_jobs import ImportJob, ImportOptions, ImportState
from ...imports.mapping import MappingError, parse_map_options
from ...imports.service import ImportRefused, job_status, submit_api_import
from ...imports.source import MAX_CELL_CHARS, MAX_COLUMNS, MAX_HEADER_CELL, MAX_ROW_BYTES
from ...imports.uploads import new_upload_path
from ...settings import Settings
from ...storage.db import Database
from ...storage.tags import MAX_TAGS_PER_MEMBER
from ...storage.tenants import default_list_id, list_exists
from ..common.app_state import get_db, get_settings
from ..common.basic_auth import current_tenant
from ..common.envelope import ERROR_RESPONSES, INVALID, EngageLabError, invalid, not_found
from ..common.params import IdPath, ListIdQuery

router = APIRouter(
    prefix="/v1/marketing/lists/members/imports",
    tags=["EngageLab member imports"],
    responses=ERROR_RESPONSES,
)

TenantId = Annotated[int, Depends(current_tenant)]
Db = Annotated[Database, Depends(get_db)]
AppSettings = Annotated[Settings, Depends(get_settings)]
_COPY_BUFFER = 1024 * 1024


# Column=Field, neither side blank (and no NUL or lone surrogate: the text rule); no
# look-ahead, as in schema_parts.not_blank_pattern.
MAP_PATTERN = r"^[^=\u0000]*\S[^=\u0000]*=[^\u0000]*[^\s\u0000][^\u0000]*$"


# The body is read as a stream (not parsed by FastAPI), so it is described here.
_UPLOAD_BODY = {
    "required": True,
    "content": {
        "text/csv": {
            "schema": {"type": "string"},
            "example": "email,name,tags\nann@example.com,Ann,VIP;Newsletter\n",
        },
        "multipart/form-data": {
            "schema": {
                "type": "object",
                "properties": {"file": {"type": "string", "format": "binary"}},
                "required": ["file"],
            }
        },
    },
}


_LIMITS = f"""A UTF-8 CSV whose first row is a header (docs/import.md).

Refused with 400 (code 30035) before any job, naming at most 20 problems: a header of more
than {MAX_COLUMNS} columns, a column name of more than {MAX_HEADER_CELL} characters, columns
that match nothing (unless `ignore_unknown`), a first MiB that is not UTF-8.

Rejected alone, with its row number (1 = the first row after the header, counted in CSV rows,
not lines) while the other rows are imported: a row longer than {MAX_ROW_BYTES} bytes, a cell
longer than {MAX_CELL_CHARS} characters, a quote never closed (the row is then its first
line), bytes that are not UTF-8, a NUL character, more than {MAX_TAGS_PER_MEMBER} tags for a
member, and any row breaking the members API's rules. Rows of one email within a chunk are
merged in order. The job keeps the first 100 rejected rows (reasons and emails cut short)."""


@router.post(
    "",
    status_code=202,
    summary="Upload a CSV of members to import (202 + job id)",
    description=_LIMITS,
    openapi_extra={"requestBody": _UPLOAD_BODY},
)
async def upload(
    request: Request,
    tenant_id: TenantId,
    db: Db,
    settings: AppSettings,
    list_id: ListIdQuery = None,
    tag_flag: int = Query(1, ge=0, le=2, description="0 overwrite, 1 append, 2 keep existing"),
    update_existing: bool = Query(True, description="Update members already on the list"),
    ignore_unknown: bool = Query(False, description="Skip columns that match nothing"),
    map: list[str] = Query(
        [],
        description='"Column=Field" renames, repeatable',
        json_schema_extra={"items": {"type": "string", "pattern": MAP_PATTERN}},
    ),
) -> JSONResponse:
    try:
        options = ImportOptions(tag_flag, update_existing, parse_map_options(map), ignore_unknown)
    except MappingError as exc:
        raise invalid("map", str(exc)) from None
    target = await run_in_threadpool(_target_list, db, tenant_id, list_id)
    path = new_upload_path(settings, tenant_id)
    try:
        await _receive(request, path)
        job_id = await run_in_threadpool(
            submit_api_import, db, settings, tenant_id, target, path, options
        )
    except ImportRefused as exc:
        path.unlink(missing_ok=True)
        raise invalid("file", str(exc)) from None
    except BaseException:
        path.unlink(missing_ok=True)
        raise
    return JSONResponse({"result": {"job_id": job_id}}, status_code=202)


@router.get("/{job_id}", summary="Progress, counts and rejected rows of an import")
def status(job_id: IdPath, tenant_id: TenantId, db: Db) -> dict[str, Any]:
    job = job_status(db, tenant_id, job_id)
    if job is None:
        raise not_found()
    return {"result": job_json(job)}


def job_json(job: ImportJob) -> dict[str, Any]:
    body: dict[str, Any] = {
        "job_id": job.id,
        "list_id": job.list_id,
        "state": str(job.state),
        "rows_done": job.rows_done,
        "percent": job.percent,
        "created": job.created,
        "updated": job.updated,
        "skipped": job.skipped,
        "rejected": job.rejected,
        "errors": job.errors,
    }
    if job.state is ImportState.DONE:
        body["rows_total"] = job.rows_done
    if job.error:
        body["error"] = job.error
    return body


def _target_list(db: Database, tenant_id: int, list_id: int | None) -> int:
    with db.read() as conn:
        if list_id is None:
            return default_list_id(conn, tenant_id)
        if not list_exists(conn, tenant_id, list_id):
            raise EngageLabError(404, INVALID, f"[list_id]:list {list_id} does not exist")
        return list_id


async def _receive(request: Request, path: Path) -> None:
    """Stream the CSV to ``path``: the multipart ``file`` field, or the raw body."""
    content_type = request.headers.get("content-type", "")
    if content_type.startswith("multipart/form-data"):
        form = await request.form(max_files=1)
        upload = form.get("file")
        if not isinstance(upload, UploadFile):
            raise invalid(
                "file", "send the CSV as the multipart field 'file' or as a text/csv body"
            )
        await run_in_threadpool(_copy, upload.file, path)
        return
    with path.open("wb") as out:
        async for piece in request.stream():
            if piece:
                await run_in_threadpool(out.write, piece)


def _copy(source: IO[bytes], path: Path) -> None:
    with path.open("wb") as out:
        shutil.copyfileobj(source, out, _COPY_BUFFER)
