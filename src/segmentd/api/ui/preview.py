"""Count, before saving, the members a condition would select: the builder's live preview and
``POST /v1/segments/preview`` (Basic auth, EngageLab error envelope)."""

from __future__ import annotations

from datetime import timezone
from typing import Annotated, Any

from fastapi import APIRouter, Body, Depends
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy.engine import Connection

from ...domain.validation import SegmentType, parse_condition
from ...settings import Settings
from ...storage.catalog import load_catalog
from ...storage.compiler import compile_condition
from ...storage.db import Database
from ..deps import get_db, get_settings
from ..engagelab.auth import current_tenant
from ..engagelab.errors import ERROR_RESPONSES, invalid
from ..engagelab.schemas import (
    NAME_CONDITION,
    LooseCondition,
    LooseListId,
    LooseType,
    body_example,
)
from ..engagelab.segments import checked_list, checked_type
from .queries import count_matching


def preview_count(
    conn: Connection,
    tenant_id: int,
    list_id: int,
    segment_type: SegmentType,
    raw_condition: Any,
    tz: timezone,
    excluded_by: str | None = None,
) -> int:
    """How many members of the list the condition selects now; DomainValidationError if invalid.

    ``excluded_by`` leaves out the members removed by hand from that segment (when editing it).
    """
    if raw_condition is None:
        raise invalid("condition", "condition is required")
    condition = parse_condition(raw_condition, load_catalog(conn, tenant_id), segment_type, tz)
    return count_matching(conn, tenant_id, list_id, compile_condition(condition), excluded_by)


def checked_list_id(conn: Connection, tenant_id: int, raw: Any) -> int:
    """The list to segment: the default list when absent (as on segment creation)."""
    return checked_list(conn, tenant_id, raw)


# --- the JSON endpoint ------------------------------------------------------------------------

router = APIRouter(prefix="/v1/segments", tags=["segmentd extensions"], responses=ERROR_RESPONSES)


class PreviewRequest(BaseModel):
    model_config = ConfigDict(json_schema_extra={"required": ["type", "condition"]})

    type: LooseType = Field(None, description="0: by field; 1: by campaign")
    condition: LooseCondition = Field(None, description="The condition, as on segment creation")
    list_id: LooseListId = Field(
        None, description="The list to count in (default: the default list)"
    )


PREVIEW_EXAMPLE = body_example({"type": 0, "condition": NAME_CONDITION})


class PreviewCount(BaseModel):
    count: int = Field(description="Members of the list the condition selects now")


@router.post("/preview", response_model=PreviewCount, summary="Count a condition's members")
def preview(
    tenant_id: Annotated[int, Depends(current_tenant)],
    db: Annotated[Database, Depends(get_db)],
    settings: Annotated[Settings, Depends(get_settings)],
    body: Annotated[PreviewRequest | None, Body(openapi_examples=PREVIEW_EXAMPLE)] = None,
) -> PreviewCount:
    """Validates like segment creation (same errors, code 30035) and saves nothing."""
    body = body or PreviewRequest()
    segment_type = checked_type(body.type)
    with db.read() as conn:
        list_id = checked_list_id(conn, tenant_id, body.list_id)
        count = preview_count(conn, tenant_id, list_id, segment_type, body.condition, settings.tz)
    return PreviewCount(count=count)
