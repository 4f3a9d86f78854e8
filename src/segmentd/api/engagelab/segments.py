"""The EngageLab segments API: ``/v1/marketing/lists/segments``.

Endpoints are plain ``def``: FastAPI runs them in its threadpool, so blocking database work
never stalls the event loop. Condition rules live in ``domain.validation``; this module checks
only the envelope around the condition (name, type, list, paging, member ids).
"""

from __future__ import annotations

import unicodedata
from collections.abc import Sequence
from datetime import timezone
from typing import Annotated, Any

from fastapi import APIRouter, Body, Depends, Query
from sqlalchemy.engine import Connection

from ...domain.fields import Catalog
from ...domain.ids import MAX_ID, as_id
from ...domain.validation import SegmentType, parse_condition
from ...ids import commandersact_id_of
from ...settings import Settings
from ...storage.catalog import custom_fields, load_catalog
from ...storage.compiler import compile_condition
from ...storage.db import Database
from ...storage.member_rows import fetch_members
from ...storage.segments import (
    CommandersActIdTaken,
    Segment,
    create_segment,
    delete_segment,
    get_segment,
    list_segments,
    member_page,
    remove_members,
    update_segment,
)
from ...storage.tenants import default_list_id, list_exists
from ...storage.write_lock import lock_tenant_writes
from ..deps import get_db, get_settings
from ..params import Limit, Offset
from ..schema_parts import TEXT_PATTERN
from .auth import current_tenant
from .condition_wire import stored_condition
from .errors import ERROR_RESPONSES, INVALID, EngageLabError, invalid, not_found
from .member_json import member_json
from .schemas import (
    CREATE_EXAMPLE,
    FILTER_EXAMPLE,
    MAX_MEMBER_IDS,
    MAX_NAME_LENGTH,
    MEMBER_IDS_EXAMPLE,
    UPDATE_EXAMPLE,
    Count,
    MemberFilter,
    MemberIds,
    MemberPage,
    Process,
    ProcessResult,
    SegmentCreate,
    SegmentList,
    SegmentOut,
    SegmentResult,
    SegmentUpdate,
)

router = APIRouter(
    prefix="/v1/marketing/lists/segments", tags=["EngageLab segments"], responses=ERROR_RESPONSES
)

TenantId = Annotated[int, Depends(current_tenant)]
Db = Annotated[Database, Depends(get_db)]
Config = Annotated[Settings, Depends(get_settings)]

NAME_SPECIALS = frozenset("^?+.*\\[]()")
NAME_SPECIALS_MESSAGE = "special characters such as ^, ?, +, ., *, \\, [, ], (, ) cannot be used"
TYPE_MESSAGE = "type only be 0 (by field) or 1 (by campaign)"


# --- checks of the request envelope ---------------------------------------------------------


def checked_name(raw: Any) -> str:
    if raw is None or (isinstance(raw, str) and not raw.strip()):
        raise invalid("segment_name", "segment_name is required")
    if not isinstance(raw, str):
        raise invalid("segment_name", "segment_name must be a string")
    if len(raw) > MAX_NAME_LENGTH:
        raise invalid("segment_name", f"segment_name must be at most {MAX_NAME_LENGTH} characters")
    if NAME_SPECIALS.intersection(raw):
        raise invalid("segment_name", NAME_SPECIALS_MESSAGE)
    if any(unicodedata.category(char) == "Cc" for char in raw):
        # PostgreSQL refuses NUL in text, and no name needs a control character.
        raise invalid("segment_name", "segment_name cannot hold control characters")
    return raw


def checked_type(raw: Any) -> SegmentType:
    if raw is None:
        raise invalid("type", "type is required")
    # bool is an int subclass, but true is not a segment type.
    if isinstance(raw, bool) or not isinstance(raw, int) or raw not in tuple(SegmentType):
        raise invalid("type", TYPE_MESSAGE)
    return SegmentType(raw)


def checked_type_filter(raw: str | None) -> int | None:
    """The list filter ``type``: absent, 0 or 1 (any other text is the spec's own error)."""
    if raw is None or raw == "":
        return None
    if raw not in ("0", "1"):
        raise invalid("", TYPE_MESSAGE)
    return int(raw)


def checked_member_ids(raw: Any) -> list[int]:
    """1 to 1000 string ids; ids that cannot name a member are kept out of the query."""
    if raw is None:
        raise invalid("member_ids", "member_ids is required")
    if not isinstance(raw, list) or not 1 <= len(raw) <= MAX_MEMBER_IDS:
        raise invalid("member_ids", f"member_ids must be a list of 1 to {MAX_MEMBER_IDS} ids")
    for index, member_id in enumerate(raw):
        if not isinstance(member_id, str):
            raise invalid(f"member_ids[{index}]", "member ids must be strings")
    return [int(text) for text in raw if _is_member_id(text)]


def _is_member_id(text: str) -> bool:
    return text.isascii() and text.isdecimal() and int(text) <= MAX_ID


def checked_commandersact_id(raw: Any) -> str | None:
    """The segmentd extension ``commandersact_id``: absent, or 8 hex characters (stored upper
    case)."""
    if raw is None:
        return None
    stored = commandersact_id_of(raw) if isinstance(raw, str) else None
    if stored is None:
        raise invalid("commandersact_id", "commandersact_id must be 8 hexadecimal characters")
    return stored


def checked_list(conn: Connection, tenant_id: int, raw: Any) -> int:
    """The list a segment (or a preview) is on: the default list when ``raw`` is absent. A list
    id that names no list of the tenant answers 404 (code 30035, as EngageLab words it)."""
    if raw is None or raw == "":
        return default_list_id(conn, tenant_id)
    list_id = as_id(raw)
    if list_id is None:
        raise invalid("list_id", f"list_id must be an integer from 1 to {MAX_ID}")
    if not list_exists(conn, tenant_id, list_id):
        raise EngageLabError(404, INVALID, f"[list_id]:list {list_id} does not exist")
    return list_id


def _condition_wire(
    conn: Connection, tenant_id: int, raw: Any, segment_type: SegmentType, tz: timezone
) -> dict[str, Any]:
    """Validate a condition against the tenant's catalog; return its stored form."""
    return stored_condition(raw, load_catalog(conn, tenant_id), segment_type, tz)


def _found(segment: Segment | None) -> Segment:
    if segment is None:
        raise not_found()
    return segment


def _result(segment: Segment, settings: Settings, catalog: Catalog) -> SegmentResult:
    return SegmentResult(result=SegmentOut.of(segment, settings.tz, catalog))


# --- endpoints --------------------------------------------------------------------------------


@router.post("", response_model=SegmentResult, summary="Create a segment")
def create(
    tenant_id: TenantId,
    db: Db,
    settings: Config,
    body: Annotated[SegmentCreate | None, Body(openapi_examples=CREATE_EXAMPLE)] = None,
) -> SegmentResult:
    """Save the segment and start building it; answers at once with status "1"."""
    body = body or SegmentCreate()
    name, segment_type = checked_name(body.segment_name), checked_type(body.type)
    commandersact_id = checked_commandersact_id(body.commandersact_id)
    with db.write() as conn:
        lock_tenant_writes(conn, tenant_id)  # the catalog must not change under the check
        list_id = checked_list(conn, tenant_id, body.list_id)
        condition = _condition_wire(conn, tenant_id, body.condition, segment_type, settings.tz)
        try:
            segment_id = create_segment(
                conn,
                tenant_id,
                list_id=list_id,
                name=name,
                segment_type=segment_type,
                condition=condition,
                commandersact_id=commandersact_id,
            )
        except CommandersActIdTaken:
            message = f"commandersact_id {commandersact_id} is taken by another segment"
            raise invalid("commandersact_id", message) from None
        segment = _found(get_segment(conn, tenant_id, segment_id))
        catalog = load_catalog(conn, tenant_id)
    return _result(segment, settings, catalog)


@router.put("/{segment_id}", response_model=SegmentResult, summary="Update a segment")
def update(
    segment_id: str,
    tenant_id: TenantId,
    db: Db,
    settings: Config,
    body: Annotated[SegmentUpdate | None, Body(openapi_examples=UPDATE_EXAMPLE)] = None,
) -> SegmentResult:
    """Save the new definition and rebuild; the previous membership stays readable meanwhile."""
    body = body or SegmentUpdate()
    name = None if body.segment_name is None else checked_name(body.segment_name)
    segment_type = checked_type(body.type)
    with db.write() as conn:
        lock_tenant_writes(conn, tenant_id)  # the catalog must not change under the check
        _found(get_segment(conn, tenant_id, segment_id, for_update=True))
        condition = _condition_wire(conn, tenant_id, body.condition, segment_type, settings.tz)
        update_segment(
            conn, tenant_id, segment_id, name=name, segment_type=segment_type, condition=condition
        )
        segment = _found(get_segment(conn, tenant_id, segment_id))
        catalog = load_catalog(conn, tenant_id)
    return _result(segment, settings, catalog)


@router.delete("/{segment_id}", response_model=Count, summary="Delete a segment")
def delete(segment_id: str, tenant_id: TenantId, db: Db) -> Count:
    with db.write() as conn:
        lock_tenant_writes(conn, tenant_id)  # real-time updates must not refill a deleted segment
        if not delete_segment(conn, tenant_id, segment_id):
            raise not_found()
    return Count(count=1)


@router.get("/{segment_id}", response_model=SegmentResult, summary="Segment details")
def detail(segment_id: str, tenant_id: TenantId, db: Db, settings: Config) -> SegmentResult:
    with db.read() as conn:
        segment = _found(get_segment(conn, tenant_id, segment_id))
        catalog = load_catalog(conn, tenant_id)
    return _result(segment, settings, catalog)


@router.get("", response_model=SegmentList, summary="List segments (newest first)")
def listing(
    tenant_id: TenantId,
    db: Db,
    settings: Config,
    segment_name: Annotated[
        str | None,
        Query(
            description="Case-insensitive part of the name",
            json_schema_extra={"pattern": TEXT_PATTERN},
        ),
    ] = None,
    segment_name_alias: Annotated[
        str | None,
        Query(
            alias="segmentName",
            description="Alias of segment_name",
            json_schema_extra={"pattern": TEXT_PATTERN},
        ),
    ] = None,
    segment_type: Annotated[
        str | None,
        Query(
            alias="type",
            description="0: by field; 1: by campaign (empty: both)",
            json_schema_extra={"enum": ["", "0", "1"]},
        ),
    ] = None,
    offset: Offset = 0,
    limit: Limit = 10,
) -> SegmentList:
    type_filter = checked_type_filter(segment_type)
    with db.read() as conn:
        found, total = list_segments(
            conn,
            tenant_id,
            name_contains=segment_name if segment_name is not None else segment_name_alias,
            segment_type=type_filter,
            offset=offset,
            limit=limit,
        )
        catalog = load_catalog(conn, tenant_id)
    page = [SegmentOut.of(segment, settings.tz, catalog) for segment in found]
    return SegmentList(result=page, total=total, count=len(page))


@router.get("/{segment_id}/process", response_model=ProcessResult, summary="Build progress")
def process(segment_id: str, tenant_id: TenantId, db: Db) -> ProcessResult:
    with db.read() as conn:
        segment = _found(get_segment(conn, tenant_id, segment_id))
    return ProcessResult(result=Process.of(segment))


@router.post("/{segment_id}/members", response_model=MemberPage, summary="Segment members")
def members(
    segment_id: str,
    tenant_id: TenantId,
    db: Db,
    settings: Config,
    body: Annotated[MemberFilter | None, Body(openapi_examples=FILTER_EXAMPLE)] = None,
    offset: Offset = 0,
    limit: Limit = 10,
) -> MemberPage:
    """Members of the published membership, by id, optionally filtered on fields and tags."""
    with db.snapshot() as conn:  # the segment, its counts and its rows must agree
        segment = _found(get_segment(conn, tenant_id, segment_id))
        where = None
        if body is not None and body.condition is not None:
            catalog = load_catalog(conn, tenant_id)
            condition = parse_condition(body.condition, catalog, SegmentType.BY_FIELD, settings.tz)
            where = compile_condition(condition)
        ids, total = member_page(conn, segment, where=where, offset=offset, limit=limit)
        rows = fetch_members(conn, tenant_id, ids, custom_fields(conn, tenant_id))
    return MemberPage.model_validate(
        {"result": [member_json(row, settings.tz) for row in rows], "total": total}
    )


@router.delete("/{segment_id}/members", response_model=Count, summary="Remove members")
def remove(
    segment_id: str,
    tenant_id: TenantId,
    db: Db,
    body: Annotated[MemberIds | None, Body(openapi_examples=MEMBER_IDS_EXAMPLE)] = None,
) -> Count:
    """Removed members stay out of the segment across rebuilds."""
    ids: Sequence[int] = checked_member_ids(body.member_ids if body else None)
    with db.write() as conn:
        lock_tenant_writes(conn, tenant_id)  # real-time updates must see the new exclusions
        removed = remove_members(conn, tenant_id, segment_id, ids)
    if removed is None:
        raise not_found()
    return Count(count=removed)
