"""``POST /v1/segments/preview``: count, before saving, the members a condition would select
(Basic auth, the ``/v1/`` error envelope)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Body, Depends
from pydantic import BaseModel, ConfigDict, Field

from ...jobs.analytics_source import AnalyticsSource
from ...services.segment_service import SegmentDraft, preview_count
from ...settings import Settings
from ...storage.db import Database
from ..common.app_state import get_analytics, get_db, get_settings
from ..common.basic_auth import current_tenant
from ..common.envelope import NATIVE_ERROR_RESPONSES
from ..common.segment_schema import (
    NAME_CONDITION,
    LooseCondition,
    LooseListId,
    LooseType,
    body_example,
)

router = APIRouter(
    prefix="/v1/segments", tags=["segmentd extensions"], responses=NATIVE_ERROR_RESPONSES
)


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
    analytics: Annotated[AnalyticsSource | None, Depends(get_analytics)],
    body: Annotated[PreviewRequest | None, Body(openapi_examples=PREVIEW_EXAMPLE)] = None,
) -> PreviewCount:
    """Validates like segment creation (same errors, code 30035) and saves nothing."""
    body = body or PreviewRequest()
    draft = SegmentDraft(segment_type=body.type, condition=body.condition, list_id=body.list_id)
    return PreviewCount(count=preview_count(db, tenant_id, draft, settings.tz, analytics))
