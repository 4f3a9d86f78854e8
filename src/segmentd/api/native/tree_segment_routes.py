"""The native segments API: ``/v1/segments`` (create, list, read, replace, change, delete,
count, rebuild). Conditions in the native form (``docs/conditions.md``); Basic auth; errors
in the ``/v1/`` envelope with ``path`` (``api.common.envelope``).

The segments are EngageLab's and Commanders Act's: the same ids, the same look-up. Writes go
through ``services.native_segments`` (computed) and ``services.static_segments`` (static).
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Body, Depends, Query, Request, Response
from starlette.exceptions import HTTPException as StarletteHTTPException

from ...domain.errors import DomainValidationError
from ...services import segment_service, static_segments
from ...services.native_segments import (
    KEEP,
    NativeChange,
    NativeDraft,
    change_native_segment,
    count_native,
    create_native_segment,
    found,
)
from ...settings import Settings
from ...storage.catalog import load_catalog
from ...storage.db import Database
from ...storage.segments import Segment, get_segment, list_segments
from ..common.app_state import get_db, get_settings
from ..common.basic_auth import current_tenant
from ..common.params import Limit, ListIdQuery, Offset
from ..common.schema_parts import TEXT_PATTERN
from ..common.segment_schema import body_example
from .segment_json import (
    COMPUTED,
    STATIC,
    Count,
    CountRequest,
    NativeSegment,
    NewSegment,
    SegmentChange,
    SegmentPage,
    SegmentReplacement,
    native_segment,
    next_offset,
)
from .segment_paths import NATIVE_ERRORS, SegmentIdPath, conflict

router = APIRouter(prefix="/v1/segments", tags=["native segments"], responses=NATIVE_ERRORS)

TenantId = Annotated[int, Depends(current_tenant)]
Db = Annotated[Database, Depends(get_db)]
Config = Annotated[Settings, Depends(get_settings)]

EXAMPLE_TREE = {
    "all": [
        {"kind": "field", "field": "Name", "op": "contain", "value": "Li"},
        {"not": {"kind": "subscription", "status": "unsubscribed"}},
    ]
}
CREATE_EXAMPLES = {
    "computed": {
        "summary": "A computed segment",
        "value": {"name": "Lis", "condition": EXAMPLE_TREE},
    },
    "static": {
        "summary": "A static segment",
        "value": {"name": "Picked", "kind": STATIC, "members": {"emails": [], "member_ids": []}},
    },
}


# Paths of POST-only operations beside ``/{segment_id}``: another method on them is a 405
# (with Allow), not a malformed segment id.
_POST_ONLY = ("/count", "/preview")


def _post_only(request: Request) -> None:
    raise StarletteHTTPException(405)


for _path in _POST_ONLY:
    router.add_api_route(
        _path,
        _post_only,
        methods=["GET", "PUT", "PATCH", "DELETE"],
        include_in_schema=False,
        dependencies=[Depends(current_tenant)],
    )


def answer(db: Database, segment: Segment, settings: Settings) -> NativeSegment:
    """A segment as the API shows it, its condition named by the catalog of now."""
    with db.read() as conn:
        catalog = load_catalog(conn, segment.tenant_id)
    return native_segment(segment, catalog, settings.tz)


def _kind(body: NewSegment) -> str:
    if "kind" not in body.model_fields_set:
        return COMPUTED
    if body.kind not in (COMPUTED, STATIC):
        raise DomainValidationError("kind", f"kind must be {COMPUTED} or {STATIC}")
    return str(body.kind)


def _members(raw: Any) -> dict[str, Any]:
    if raw is None:
        return {}
    if not isinstance(raw, dict):
        raise DomainValidationError("members", "members must be an object: emails, member_ids")
    return raw


@router.post(
    "",
    status_code=201,
    response_model=NativeSegment,
    summary="Create a segment (computed, or static)",
    responses={409: conflict("the name is taken by another segment of the tenant")},
)
def create(
    tenant_id: TenantId,
    db: Db,
    settings: Config,
    body: Annotated[NewSegment, Body(openapi_examples=CREATE_EXAMPLES)],
) -> NativeSegment:
    """A computed segment is saved and its first build queued (status building); a static
    one is complete at once, with the members given (each must name a member of its list)."""
    if _kind(body) == STATIC:
        if "condition" in body.model_fields_set:
            raise DomainValidationError("condition", "a static segment takes no condition")
        members = _members(body.members)
        draft = static_segments.StaticDraft(
            name=body.name,
            list_id=body.list_id,
            commandersact_id=body.commandersact_id,
            emails=members.get("emails"),
            member_ids=members.get("member_ids"),
        )
        segment = static_segments.create_static_segment(db, tenant_id, draft, unique_name=True)
    else:
        if body.members is not None:
            message = "members are given to static segments only (kind static)"
            raise DomainValidationError("members", message)
        wanted = NativeDraft(body.name, body.condition, body.list_id, body.commandersact_id)
        segment = create_native_segment(db, tenant_id, wanted, settings.tz)
    return answer(db, segment, settings)


@router.get("", response_model=SegmentPage, summary="List segments (newest first)")
def listing(
    tenant_id: TenantId,
    db: Db,
    settings: Config,
    list_id: ListIdQuery = None,
    q: Annotated[
        str | None,
        Query(
            max_length=200,
            description="A part of the name (ASCII letters in any case)",
            json_schema_extra={"pattern": TEXT_PATTERN},
        ),
    ] = None,
    offset: Offset = 0,
    limit: Limit = 20,
) -> SegmentPage:
    with db.read() as conn:
        page, total = list_segments(
            conn, tenant_id, name_contains=q, list_id=list_id, offset=offset, limit=limit
        )
        catalog = load_catalog(conn, tenant_id)
    items = [native_segment(segment, catalog, settings.tz) for segment in page]
    return SegmentPage(
        items=items,
        total=total,
        offset=offset,
        limit=limit,
        next_offset=next_offset(offset, len(items), total),
    )


@router.post(
    "/count",
    response_model=Count,
    summary="Count the members a native condition selects (saves nothing)",
)
def count(
    tenant_id: TenantId,
    db: Db,
    settings: Config,
    body: Annotated[CountRequest, Body(openapi_examples=body_example({"condition": EXAMPLE_TREE}))],
) -> Count:
    """Checked exactly as on creation (same errors)."""
    return Count(count=count_native(db, tenant_id, body.list_id, body.condition, settings.tz))


@router.get("/{segment_id}", response_model=NativeSegment, summary="A segment")
def detail(
    segment_id: SegmentIdPath, tenant_id: TenantId, db: Db, settings: Config
) -> NativeSegment:
    with db.read() as conn:
        segment = found(get_segment(conn, tenant_id, segment_id))
    return answer(db, segment, settings)


@router.put(
    "/{segment_id}",
    response_model=NativeSegment,
    summary="Replace a segment's name and condition (rebuilds)",
    responses={409: conflict("the name is taken by another segment of the tenant")},
)
def replace(
    segment_id: SegmentIdPath,
    tenant_id: TenantId,
    db: Db,
    settings: Config,
    body: Annotated[
        SegmentReplacement,
        Body(openapi_examples=body_example({"name": "Lis", "condition": EXAMPLE_TREE})),
    ],
) -> NativeSegment:
    """The previous membership stays readable until the rebuild publishes. A static segment
    has no condition (400)."""
    change = NativeChange(name=body.name, condition=body.condition)
    segment = change_native_segment(db, tenant_id, segment_id, change, settings.tz)
    return answer(db, segment, settings)


@router.patch(
    "/{segment_id}",
    response_model=NativeSegment,
    summary="Change a segment's name, condition or Commanders Act id",
    responses={409: conflict("the name is taken by another segment of the tenant")},
)
def change(
    segment_id: SegmentIdPath,
    tenant_id: TenantId,
    db: Db,
    settings: Config,
    body: Annotated[SegmentChange, Body(openapi_examples=body_example({"name": "Lis"}))],
) -> NativeSegment:
    """Only the fields given change; a new condition rebuilds."""
    given = body.model_fields_set
    wanted = NativeChange(
        name=body.name if "name" in given else KEEP,
        condition=body.condition if "condition" in given else KEEP,
        commandersact_id=body.commandersact_id if "commandersact_id" in given else KEEP,
    )
    segment = change_native_segment(db, tenant_id, segment_id, wanted, settings.tz)
    return answer(db, segment, settings)


@router.delete(
    "/{segment_id}",
    status_code=204,
    response_class=Response,
    summary="Delete a segment (refused while another one refers to it)",
)
def delete(segment_id: SegmentIdPath, tenant_id: TenantId, db: Db) -> Response:
    segment_service.delete_segment(db, tenant_id, segment_id)
    return Response(status_code=204)


@router.post(
    "/{segment_id}/rebuild",
    status_code=202,
    response_model=NativeSegment,
    summary="Queue a fresh build (a static segment has none: unchanged)",
)
def rebuild(
    segment_id: SegmentIdPath, tenant_id: TenantId, db: Db, settings: Config
) -> NativeSegment:
    segment_service.rebuild_segment(db, tenant_id, segment_id)
    with db.read() as conn:
        segment = found(get_segment(conn, tenant_id, segment_id))
    return answer(db, segment, settings)
