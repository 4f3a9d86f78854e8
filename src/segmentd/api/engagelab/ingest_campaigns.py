"""Campaigns and their events: ``/v1/marketing/campaigns``."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from pydantic import BaseModel, ConfigDict, Field

from ...domain.fields import CampaignStatus
from ...storage.campaigns import (
    MAX_EVENTS,
    Campaign,
    check_status,
    create_campaign,
    get_campaign,
    list_campaigns,
    record_events,
    update_campaign,
)
from ...timefmt import SEGMENT_STYLE, format_time
from .errors import ERROR_RESPONSES, invalid, not_found
from .ingest_common import Config, Db, Limit, Offset, TenantId, page, path_id, resolve_list

router = APIRouter(
    prefix="/v1/marketing/campaigns", tags=["EngageLab campaigns"], responses=ERROR_RESPONSES
)


class CampaignCreate(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={"examples": [{"campaign_name": "Spring sale", "status": "sending"}]}
    )

    campaign_name: Any = Field(None, description="1 to 255 characters")
    status: Any = Field("draft", description="draft, sending, completed or cancelled")
    list_id: Any = Field(None, description="The list it goes to (default: the default list)")


class CampaignUpdate(BaseModel):
    campaign_name: Any = Field(None, description="A new name")
    status: Any = Field(None, description="draft -> sending -> completed or cancelled")


class Events(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [{"events": [{"email": "ann@example.com", "event": "open"}]}]
        }
    )

    events: Any = Field(
        None,
        description="1 to 10,000 of {email or member_id, event: sent|open|click, "
        "time?: epoch seconds or 'YYYY-MM-DD HH:MM:SS'}",
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
    status = check_status(body.status)
    with db.write() as conn:
        list_id = resolve_list(conn, tenant_id, body.list_id)
        campaign = create_campaign(conn, tenant_id, body.campaign_name, status, list_id)
    return {"result": campaign_json(campaign, settings)}


@router.get("", summary="List campaigns, newest first")
def list_all(
    tenant_id: TenantId,
    db: Db,
    settings: Config,
    status: str | None = None,
    offset: Offset = 0,
    limit: Limit = 10,
) -> dict[str, Any]:
    wanted: CampaignStatus | None = check_status(status) if status else None
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
    status = check_status(body.status) if body.status is not None else None
    with db.write() as conn:
        campaign = update_campaign(
            conn, tenant_id, path_id(campaign_id), body.campaign_name, status
        )
    if campaign is None:
        raise not_found()
    return {"result": campaign_json(campaign, settings)}


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
