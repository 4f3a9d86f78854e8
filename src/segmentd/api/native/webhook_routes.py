"""Native endpoints for webhook subscriptions and their deliveries (docs/webhooks.md).

Basic auth as on the EngageLab API; another tenant's subscription answers "not found". The
signing secret is shown when a subscription is made and when it is rotated, never again.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request, Response
from pydantic import BaseModel, Field

from ...domain.ids import MAX_ID
from ...secrets import token_keys
from ...services import webhook_service
from ...settings import Settings
from ...storage.db import Database
from ...storage.webhooks import Delivery, Webhook
from ...timefmt import format_time
from ..common.basic_auth import current_tenant
from ..common.envelope import INVALID, NATIVE_ERROR_RESPONSES, EngageLabError, NativeErrorBody
from ..common.params import IdPath, Limit

router = APIRouter(prefix="/v1/webhooks", tags=["webhooks"], responses=NATIVE_ERROR_RESPONSES)
NO_STORE = "no-store"
MAX_URL = 2048
# An http(s) URL of printable ASCII, no spaces; the host is checked further (public addresses).
URL_PATTERN = r"^[Hh][Tt][Tt][Pp][Ss]?://[!-~]+$"
SEGMENT_ID_PATTERN = "^[0-9a-f]{24}$"


class Event(StrEnum):
    entered = "entered"
    left = "left"


class DeliveryState(StrEnum):
    queued = "queued"
    running = "running"
    done = "done"
    failed = "failed"


Url = Annotated[
    str,
    Field(
        min_length=10,
        max_length=MAX_URL,
        pattern=URL_PATTERN,
        description="Where deliveries are POSTed: http:// or https://, at most "
        f"{MAX_URL} characters, a host resolving only to public addresses unless "
        "SEGMENTD_WEBHOOK_ALLOWED_HOSTS allows it; redirects are not followed",
        examples=["https://hooks.example.com/segmentd"],
    ),
]
Events = Annotated[
    list[Event],
    Field(
        min_length=1,
        max_length=2,
        description="Which changes are sent: entered, left, or both",
        examples=[["entered", "left"]],
    ),
]


class NewWebhook(BaseModel):
    url: Url
    segment_id: str | None = Field(
        None,
        pattern=SEGMENT_ID_PATTERN,
        description="One segment's changes (24 hex); null: every segment of the tenant",
    )
    events: Events = Field(default_factory=lambda: [Event.entered, Event.left])
    enabled: bool = True


class WebhookUpdate(BaseModel):
    url: Url | None = None
    events: Events | None = None
    enabled: bool | None = Field(None, description="false pauses deliveries (they wait)")


def _events(events: list[Event]) -> str:
    chosen = set(events)
    return "both" if len(chosen) == 2 else next(iter(chosen)).value


def _event_list(events: str) -> list[str]:
    return ["entered", "left"] if events == "both" else [events]


def webhook_json(webhook: Webhook, request: Request) -> dict[str, Any]:
    tz = _settings(request).tz
    return {
        "webhook_id": webhook.id,
        "url": webhook.url,
        "segment_id": webhook.segment_id,
        "events": _event_list(webhook.events),
        "enabled": webhook.enabled,
        "cursor": webhook.cursor,
        "created_time": format_time(webhook.created_at, tz),
        "updated_time": format_time(webhook.updated_at, tz),
    }


def delivery_json(delivery: Delivery, request: Request) -> dict[str, Any]:
    tz = _settings(request).tz
    waiting = delivery.state == "queued"
    return {
        "delivery_id": delivery.id,
        "message_id": delivery.message_id,
        "state": delivery.state,
        "first_seq": delivery.first_seq,
        "last_seq": delivery.last_seq,
        "change_count": delivery.change_count,
        "tries": delivery.tries,
        "last_status": delivery.last_status,
        "error": delivery.error,
        "next_attempt_time": format_time(int(delivery.next_attempt_at), tz) if waiting else None,
        "created_time": format_time(delivery.created_at, tz),
        "delivered_time": format_time(delivery.delivered_at, tz),
    }


def _db(request: Request) -> Database:
    db: Database = request.app.state.db
    return db


def _settings(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


def _with_secret(
    webhook: Webhook, secret: str, request: Request, response: Response
) -> dict[str, Any]:
    response.headers["Cache-Control"] = NO_STORE
    return {"result": webhook_json(webhook, request) | {"secret": secret}}


@router.get("", summary="List the tenant's webhook subscriptions")
def get_webhooks(request: Request, tenant_id: int = Depends(current_tenant)) -> dict[str, Any]:
    found = webhook_service.list_webhooks(_db(request), tenant_id)
    result = [webhook_json(webhook, request) for webhook in found]
    return {"result": result, "total": len(result), "count": len(result)}


@router.post(
    "",
    summary="Subscribe to membership changes (the answer holds the signing secret, once)",
    description=f"At most {webhook_service.MAX_WEBHOOKS} subscriptions per tenant. The "
    "subscription receives the changes made after it.",
)
def post_webhook(
    body: NewWebhook,
    request: Request,
    response: Response,
    tenant_id: int = Depends(current_tenant),
) -> dict[str, Any]:
    settings = _settings(request)
    webhook, secret = webhook_service.create_webhook(
        _db(request),
        settings,
        token_keys(settings),
        tenant_id,
        url=body.url,
        segment_id=body.segment_id,
        events=_events(body.events),
        enabled=body.enabled,
    )
    return _with_secret(webhook, secret, request, response)


@router.get("/{webhook_id}", summary="One webhook subscription")
def get_webhook(
    webhook_id: IdPath, request: Request, tenant_id: int = Depends(current_tenant)
) -> dict[str, Any]:
    webhook = webhook_service.get_webhook(_db(request), tenant_id, webhook_id)
    return {"result": webhook_json(webhook, request)}


@router.put("/{webhook_id}", summary="Change a subscription's URL, events or enabled flag")
def put_webhook(
    webhook_id: IdPath,
    body: WebhookUpdate,
    request: Request,
    tenant_id: int = Depends(current_tenant),
) -> dict[str, Any]:
    webhook = webhook_service.update_webhook(
        _db(request),
        _settings(request),
        tenant_id,
        webhook_id,
        url=body.url,
        events=None if body.events is None else _events(body.events),
        enabled=body.enabled,
    )
    return {"result": webhook_json(webhook, request)}


@router.delete("/{webhook_id}", summary="Delete a subscription and its deliveries")
def delete_webhook(
    webhook_id: IdPath, request: Request, tenant_id: int = Depends(current_tenant)
) -> dict[str, Any]:
    webhook_service.delete_webhook(_db(request), tenant_id, webhook_id)
    return {"result": {"webhook_id": webhook_id, "deleted": True}}


@router.post("/{webhook_id}/secret/rotate", summary="Replace the signing secret (shown once)")
def post_rotate(
    webhook_id: IdPath,
    request: Request,
    response: Response,
    tenant_id: int = Depends(current_tenant),
) -> dict[str, Any]:
    db, settings = _db(request), _settings(request)
    secret = webhook_service.rotate_secret(db, token_keys(settings), tenant_id, webhook_id)
    webhook = webhook_service.get_webhook(db, tenant_id, webhook_id)
    return _with_secret(webhook, secret, request, response)


@router.get(
    "/{webhook_id}/deliveries",
    summary="The subscription's deliveries, newest first (state=failed: the parked ones)",
)
def get_deliveries(
    webhook_id: IdPath,
    request: Request,
    limit: Limit = 20,
    state: Annotated[DeliveryState | None, Query(description="Only this state")] = None,
    before: Annotated[
        int | None,
        Query(ge=1, le=MAX_ID, description="Deliveries older than this delivery_id (paging)"),
    ] = None,
    tenant_id: int = Depends(current_tenant),
) -> dict[str, Any]:
    found = webhook_service.list_deliveries(
        _db(request),
        tenant_id,
        webhook_id,
        state=None if state is None else state.value,
        before=before,
        limit=limit,
    )
    result = [delivery_json(delivery, request) for delivery in found]
    return {"result": result, "count": len(result)}


@router.post(
    "/{webhook_id}/deliveries/{delivery_id}/replay",
    summary="Queue a parked delivery again (same body, same webhook-id)",
    responses={409: {"model": NativeErrorBody, "description": "Not parked (code 30035)"}},
)
def post_replay(
    webhook_id: IdPath,
    delivery_id: IdPath,
    request: Request,
    tenant_id: int = Depends(current_tenant),
) -> dict[str, Any]:
    try:
        delivery = webhook_service.replay_delivery(_db(request), tenant_id, webhook_id, delivery_id)
    except webhook_service.NotParked as exc:
        raise EngageLabError(409, INVALID, str(exc)) from None
    return {"result": delivery_json(delivery, request)}
