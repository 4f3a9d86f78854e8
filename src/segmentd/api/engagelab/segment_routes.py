"""The EngageLab segments API: ``/v1/marketing/lists/segments``.

Endpoints are plain ``def``: FastAPI runs them in its threadpool, so blocking database work
never stalls the event loop. The rules live in ``services.segment_rules`` and
``domain.validation``; the writes in ``services.segment_service``.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Body, Depends, Query

from ...domain.errors import NotFound
from ...domain.fields import Catalog
from ...jobs.analytics_source import AnalyticsSource
from ...services import segment_service
from ...services.filtered_members import members_page
from ...services.segment_rules import checked_member_ids, checked_type_filter
from ...services.segment_service import SegmentDraft
from ...settings import Settings
from ...storage.catalog import load_catalog
from ...storage.db import Database
from ...storage.segments import Segment, get_segment, list_segments
from ..common.app_state import get_analytics, get_db, get_settings
from ..common.basic_auth import current_tenant
from ..common.envelope import ERROR_RESPONSES
from ..common.member_json import member_json
from ..common.params import Limit, Offset
from ..common.schema_parts import TEXT_PATTERN
from .schemas import (
    CREATE_EXAMPLE,
    FILTER_EXAMPLE,
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
Analytics = Annotated[AnalyticsSource | None, Depends(get_analytics)]


def _found(segment: Segment | None) -> Segment:
    if segment is None:
        raise NotFound("segment")
    return segment


def _result(segment: Segment, settings: Settings, catalog: Catalog) -> SegmentResult:
    return SegmentResult(result=SegmentOut.of(segment, settings.tz, catalog))


def _written(db: Database, segment: Segment, settings: Settings) -> SegmentResult:
    """A segment just written, its condition named by the catalog of now."""
    with db.read() as conn:
        catalog = load_catalog(conn, segment.tenant_id)
    return _result(segment, settings, catalog)


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
    draft = SegmentDraft(
        name=body.segment_name,
        segment_type=body.type,
        condition=body.condition,
        list_id=body.list_id,
        commandersact_id=body.commandersact_id,
    )
    return _written(db, segment_service.create_segment(db, tenant_id, draft, settings.tz), settings)


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
    draft = SegmentDraft(name=body.segment_name, segment_type=body.type, condition=body.condition)
    segment = segment_service.update_segment(db, tenant_id, segment_id, draft, settings.tz)
    return _written(db, segment, settings)


@router.delete("/{segment_id}", response_model=Count, summary="Delete a segment")
def delete(segment_id: str, tenant_id: TenantId, db: Db) -> Count:
    segment_service.delete_segment(db, tenant_id, segment_id)
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
    analytics: Analytics,
    body: Annotated[MemberFilter | None, Body(openapi_examples=FILTER_EXAMPLE)] = None,
    offset: Offset = 0,
    limit: Limit = 10,
) -> MemberPage:
    """Members of the published membership, by id, optionally filtered on fields and tags."""
    condition = None if body is None else body.condition
    found = members_page(
        db, tenant_id, segment_id, condition, settings.tz, (offset, limit), analytics
    )
    return MemberPage.model_validate(
        {"result": [member_json(row, settings.tz) for row in found.rows], "total": found.total}
    )


@router.delete("/{segment_id}/members", response_model=Count, summary="Remove members")
def remove(
    segment_id: str,
    tenant_id: TenantId,
    db: Db,
    settings: Config,
    body: Annotated[MemberIds | None, Body(openapi_examples=MEMBER_IDS_EXAMPLE)] = None,
) -> Count:
    """Removed members stay out of the segment across rebuilds."""
    ids = checked_member_ids(body.member_ids if body else None)
    removed = segment_service.remove_members(db, tenant_id, segment_id, ids, settings.tz)
    return Count(count=removed)
