"""Campaigns and their events: ``/v1/marketing/campaigns``."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query
from pydantic import BaseModel, ConfigDict, Field, WithJsonSchema

from ...domain.fields import CampaignStatus
from ...services.catalog_service import (
    checked_status,
    create_campaign_in,
    delete_campaign,
    update_campaign,
)
from ...services.member_service import record_events
from ...storage.campaigns import (
    EVENT_COLUMNS,
    MAX_EVENTS,
    MAX_NAME,
    MAX_TIME,
    Campaign,
    get_campaign,
    list_campaigns,
)
from ...timefmt import SEGMENT_STYLE, format_time
from ..common.envelope import ERROR_RESPONSES, invalid, not_found
from ..common.schema_parts import (
    ID,
    ID_DIGITS,
    non_blank,
    nullable,
    one_of_strings,
    reported_items,
    text,
)
from .ingest_common import (
    Config,
    Db,
    Limit,
    ListIdBody,
    Offset,
    TenantId,
    page,
    path_id,
    resolve_list,
)

router = APIRouter(
    prefix="/v1/marketing/campaigns", tags=["EngageLab campaigns"], responses=ERROR_RESPONSES
)


class CampaignCreate(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [{"campaign_name": "Spring sale", "status": "sending"}],
            "required": ["campaign_name"],
        }
    )

    campaign_name: Annotated[Any, WithJsonSchema(non_blank(MAX_NAME))] = Field(
        None, description="1 to 255 characters"
    )
    status: Annotated[Any, WithJsonSchema(one_of_strings(CampaignStatus))] = Field(
        "draft", description="draft, sending, completed or cancelled"
    )
    list_id: ListIdBody = Field(None, description="The list it goes to (default: the default list)")


class CampaignUpdate(BaseModel):
    campaign_name: Annotated[Any, WithJsonSchema(nullable(non_blank(MAX_NAME)))] = Field(
        None, description="A new name"
    )
    status: Annotated[Any, WithJsonSchema(nullable(one_of_strings(CampaignStatus)))] = Field(
        None,
        description="draft -> sending -> completed or cancelled; a status never goes back",
    )


TIME_PATTERN = r"^[0-9]{4}-[0-9]{2}-[0-9]{2} [0-9]{2}:[0-9]{2}:[0-9]{2}$"
EVENTS_SCHEMA = {
    "type": "array",
    "minItems": 1,
    "maxItems": MAX_EVENTS,
    "items": reported_items(
        {
            "type": "object",
            "required": ["event"],
            "properties": {
                "email": nullable(text()),
                "member_id": nullable({"anyOf": [ID, ID_DIGITS]}),
                "event": one_of_strings(EVENT_COLUMNS),
                "time": nullable(
                    {
                        "anyOf": [
                            {"type": "integer", "minimum": 0, "maximum": MAX_TIME},
                            {"type": "string", "pattern": TIME_PATTERN},
                        ]
                    }
                ),
            },
        }
    ),
}


class Events(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [{"events": [{"email": "ann@example.com", "event": "open"}]}],
            "required": ["events"],
        }
    )

    events: Annotated[Any, WithJsonSchema(EVENTS_SCHEMA)] = Field(
        None,
        description="1 to 10,000 of {email or member_id, event: sent|open|click, "
        "time?: epoch seconds or 'YYYY-MM-DD HH:MM:SS'}; an event that breaks a rule is "
        "reported in errors and the others are recorded",
    )


def campaign_json(campaign: Campaign, settings: Any) -> dict[str, Any]:
    return {
        "campaign_id": campaign.id,
        "campaign_name": campaign.name,
        "status": str(campaign.status),
        "list_id": campaign.list_id,
        "create_time": format_time(campaign.created_at, settings.tz, SEGMENT_STYLE),
        "update_time": format_time(campaign.updated_at, settings.tz, SEGMENT_STYLE),
        "stats": {"sent": campaign.sent, "opened": campaign.opened, "clicked": campaign.clicked},
    }


@router.post("", summary="Create a campaign")
def create(body: CampaignCreate, tenant_id: TenantId, db: Db, settings: Config) -> dict[str, Any]:
    status = checked_status(body.status)
    with db.write() as conn:
        list_id = resolve_list(conn, tenant_id, body.list_id)
        campaign = create_campaign_in(conn, tenant_id, body.campaign_name, status, list_id)
    return {"result": campaign_json(campaign, settings)}


@router.get("", summary="List campaigns, newest first")
def list_all(
    tenant_id: TenantId,
    db: Db,
    settings: Config,
    status: Annotated[
        str | None,
        Query(
            description="Only campaigns with this status",
            json_schema_extra={"enum": ["", *CampaignStatus]},
        ),
    ] = None,
    offset: Offset = 0,
    limit: Limit = 10,
) -> dict[str, Any]:
    wanted: CampaignStatus | None = checked_status(status) if status else None
    with db.read() as conn:
        found, total = list_campaigns(conn, tenant_id, offset, limit, wanted)
    return page([campaign_json(c, settings) for c in found], total)


@router.get("/{campaign_id}", summary="Get one campaign with its counts")
def get_one(campaign_id: str, tenant_id: TenantId, db: Db, settings: Config) -> dict[str, Any]:
    with db.read() as conn:
        campaign = get_campaign(conn, tenant_id, path_id(campaign_id))
    if campaign is None:
        raise not_found()
    return {"result": campaign_json(campaign, settings)}


@router.put("/{campaign_id}", summary="Rename a campaign or move its status on")
def update(
    campaign_id: str, body: CampaignUpdate, tenant_id: TenantId, db: Db, settings: Config
) -> dict[str, Any]:
    status = checked_status(body.status) if body.status is not None else None
    campaign = update_campaign(db, tenant_id, path_id(campaign_id), body.campaign_name, status)
    if campaign is None:
        raise not_found()
    return {"result": campaign_json(campaign, settings)}


@router.delete(
    "/{campaign_id}",
    summary="Delete a campaign no segment uses, with its sends, opens and clicks",
    description="Refused (400, code 30035) while a segment tests the campaign, naming the "
    "segments, or while an import of its events is under way. Segments counting activity "
    "across campaigns (engagement, last activity) are rebuilt without it.",
)
def delete(campaign_id: str, tenant_id: TenantId, db: Db) -> dict[str, int]:
    if not delete_campaign(db, tenant_id, path_id(campaign_id)):
        raise not_found()
    return {"count": 1}


@router.post("/{campaign_id}/events", summary="Record sent, open and click events")
def events(
    campaign_id: str, body: Events, tenant_id: TenantId, db: Db, settings: Config
) -> dict[str, Any]:
    raw = body.events
    if not isinstance(raw, list) or not 1 <= len(raw) <= MAX_EVENTS:
        raise invalid("events", f"events must be a list of 1 to {MAX_EVENTS:,} events")
    with db.write() as conn:
        result = record_events(conn, tenant_id, path_id(campaign_id), raw, settings.tz)
    if result is None:
        raise not_found()
    return {
        "result": {
            "recorded": result.recorded,
            "members": len(result.member_ids),
            "errors": [{"index": e.index, "message": e.message} for e in result.errors],
        }
    }
