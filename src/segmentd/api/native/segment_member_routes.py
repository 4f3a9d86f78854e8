"""A segment's members in the native segments API: a page of them (any segment), and a
static segment's members given and taken back, by emails and member ids or a CSV of emails
(``services.static_segments``; a computed segment answers 400). The CSV export of every
segment is ``exports``."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Body, Depends, Request
from pydantic import BaseModel, Field
from starlette.concurrency import run_in_threadpool

from ...domain.errors import DomainValidationError
from ...imports.email_column import MAX_BYTES, MAX_ROWS
from ...membership import store as membership
from ...services import static_segments
from ...services.native_segments import found
from ...services.static_segments import SAMPLE, GivenMembers
from ...settings import Settings
from ...storage.catalog import custom_fields
from ...storage.db import Database
from ...storage.member_rows import fetch_members
from ...storage.segments import get_segment
from ..common.app_state import get_db, get_settings
from ..common.basic_auth import current_tenant
from ..common.member_json import member_json
from ..common.params import Limit, Offset
from ..common.segment_schema import body_example
from .segment_json import MemberEntries, next_offset
from .segment_paths import NATIVE_ERRORS, SegmentIdPath

router = APIRouter(prefix="/v1/segments", tags=["native segments"], responses=NATIVE_ERRORS)

TenantId = Annotated[int, Depends(current_tenant)]
Db = Annotated[Database, Depends(get_db)]
Config = Annotated[Settings, Depends(get_settings)]


class Member(BaseModel):
    id: str
    list_id: int
    email: str
    phone: str | None
    name: str | None
    subscription: str = Field(json_schema_extra={"enum": ["subscribed", "unsubscribed"]})
    create_time: str
    update_time: str
    unsubscribe_time: str | None
    fields: dict[str, str | None] = Field(description="Custom field values in their formats")
    tag_ids: list[str]
    tag_names: list[str]


class MemberPage(BaseModel):
    items: list[Member]
    total: int = Field(description="Members of the published membership")
    offset: int
    limit: int
    next_offset: int | None = Field(description="The next page's offset; null at the end")


class GivenAnswer(BaseModel):
    changed: int = Field(description="Members put in (taken out)")
    unchanged: int = Field(description="Members in already (not in)")
    not_found: int = Field(description="Entries naming no member of the list")
    not_found_sample: list[str] = Field(description=f"The first {SAMPLE} of them, as given")


def _given(result: GivenMembers) -> GivenAnswer:
    return GivenAnswer(
        changed=result.changed,
        unchanged=result.unchanged,
        not_found=result.not_found,
        not_found_sample=list(result.not_found_sample),
    )


@router.get("/{segment_id}/members", response_model=MemberPage, summary="A page of members")
def members(
    segment_id: SegmentIdPath,
    tenant_id: TenantId,
    db: Db,
    settings: Config,
    offset: Offset = 0,
    limit: Limit = 20,
) -> MemberPage:
    """The published members by id, with their subscription status."""
    with db.snapshot() as conn:  # the segment, its total and its rows must agree
        segment = found(get_segment(conn, tenant_id, segment_id))
        ids, total = membership().page(conn, segment, offset=offset, limit=limit)
        rows = fetch_members(conn, tenant_id, ids, custom_fields(conn, tenant_id))
    items = [
        Member.model_validate(
            member_json(row, settings.tz)
            | {"subscription": "unsubscribed" if row.unsubscribed_at else "subscribed"}
        )
        for row in rows
    ]
    return MemberPage(
        items=items,
        total=total,
        offset=offset,
        limit=limit,
        next_offset=next_offset(offset, len(items), total),
    )


_ENTRIES_EXAMPLE = body_example({"emails": ["ann@example.com"], "member_ids": []})


@router.post(
    "/{segment_id}/members",
    response_model=GivenAnswer,
    summary="Give a static segment members",
)
def give(
    segment_id: SegmentIdPath,
    tenant_id: TenantId,
    db: Db,
    settings: Config,
    body: Annotated[MemberEntries, Body(openapi_examples=_ENTRIES_EXAMPLE)],
) -> GivenAnswer:
    """Every entry must name a member of the segment's list, or nothing is written."""
    result = static_segments.add_static_members(
        db, tenant_id, segment_id, settings.tz, emails=body.emails, member_ids=body.member_ids
    )
    return _given(result)


@router.delete(
    "/{segment_id}/members",
    response_model=GivenAnswer,
    summary="Take members back from a static segment",
)
def take_back(
    segment_id: SegmentIdPath,
    tenant_id: TenantId,
    db: Db,
    settings: Config,
    body: Annotated[MemberEntries, Body(openapi_examples=_ENTRIES_EXAMPLE)],
) -> GivenAnswer:
    """Entries naming no member of the list are counted, not refused."""
    result = static_segments.remove_static_members(
        db, tenant_id, segment_id, settings.tz, emails=body.emails, member_ids=body.member_ids
    )
    return _given(result)


CSV_EXAMPLE = "email\nann@example.com\n"
_CSV_BODY: dict[str, Any] = {
    "required": True,
    "content": {
        "text/csv": {"schema": {"type": "string"}, "example": CSV_EXAMPLE},
        "multipart/form-data": {
            "schema": {
                "type": "object",
                "properties": {"file": {"type": "string", "format": "binary"}},
                "required": ["file"],
            }
        },
    },
}


@router.post(
    "/{segment_id}/members.csv",
    response_model=GivenAnswer,
    summary="Give a static segment the members a CSV of emails lists",
    description=f"UTF-8, at most {MAX_BYTES} bytes and {MAX_ROWS} emails: the column headed "
    "email, or the first column when the first row is an address (docs/conditions.md, Static "
    "segments). Emails naming no member of the list are counted and passed over. As a "
    "text/csv body or the multipart field file.",
    openapi_extra={"requestBody": _CSV_BODY},
)
async def give_csv(
    segment_id: SegmentIdPath, request: Request, tenant_id: TenantId, db: Db, settings: Config
) -> GivenAnswer:
    data = await _csv_bytes(request)
    result = await run_in_threadpool(
        static_segments.add_static_members_csv, db, tenant_id, segment_id, data, settings.tz
    )
    return _given(result)


async def _csv_bytes(request: Request) -> bytes:
    """The file: the multipart ``file`` field or the raw body, read to one byte past the
    limit (``read_email_column`` refuses more)."""
    content_type = request.headers.get("content-type", "")
    if content_type.startswith("multipart/form-data"):
        form = await request.form(max_files=1)
        upload = form.get("file")
        if upload is None or isinstance(upload, str):
            message = "send the CSV as the multipart field 'file' or as a text/csv body"
            raise DomainValidationError("file", message)
        return bytes(await upload.read(MAX_BYTES + 1))
    data = bytearray()
    async for piece in request.stream():
        data += piece
        if len(data) > MAX_BYTES:
            break
    return bytes(data)
