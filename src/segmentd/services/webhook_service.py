"""Webhook use cases (docs/webhooks.md): subscribe, list, change, delete, rotate the secret,
list deliveries and replay a parked one.

A URL is checked when it is set: http(s) only, and every address its host resolves to must
be public unless ``SEGMENTD_WEBHOOK_ALLOWED_HOSTS`` allows it (``jobs.webhook_targets``; each
delivery checks again). A new subscription follows only changes made after it.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy.engine import Connection

from .. import clock
from ..domain.errors import DomainValidationError, NotFound
from ..domain.ids import MAX_ID
from ..jobs.webhook_targets import AllowList, TargetRefused, check_url
from ..secrets import TokenKeys
from ..settings import Settings
from ..storage import webhooks as store
from ..storage.db import Database
from ..storage.membership_history import last_seq
from ..storage.segments import get_segment

MAX_WEBHOOKS = 50  # subscriptions per tenant
MAX_URL = 2048  # characters of a subscription's URL


class NotParked(DomainValidationError):
    """A replay of a delivery that is not parked (the native API: 409)."""


def owned_webhook(conn: Connection, tenant_id: int, webhook_id: int) -> store.Webhook:
    webhook = store.get_webhook(conn, tenant_id, webhook_id) if 0 < webhook_id <= MAX_ID else None
    if webhook is None:
        raise NotFound(f"webhook {webhook_id}")
    return webhook


def checked_url(url: str, settings: Settings) -> str:
    if len(url) > MAX_URL:
        raise DomainValidationError("url", f"must be at most {MAX_URL} characters")
    if not all("!" <= c <= "~" for c in url):  # as the native API's pattern says
        raise DomainValidationError("url", "must be printable ASCII, without spaces")
    try:
        check_url(url, AllowList.parse(settings.webhook_allowed_list))
    except TargetRefused as exc:
        raise DomainValidationError("url", str(exc)) from None
    return url


def checked_events(events: str) -> str:
    if events not in store.EVENTS:
        raise DomainValidationError("events", "choose entered, left or both")
    return events


def create_webhook(
    db: Database,
    settings: Settings,
    keys: TokenKeys,
    tenant_id: int,
    *,
    url: str,
    segment_id: str | None,
    events: str,
    enabled: bool,
) -> tuple[store.Webhook, str]:
    """A new subscription and its secret (shown this once)."""
    url = checked_url(url, settings)
    checked_events(events)
    with db.write() as conn:
        if segment_id is not None and get_segment(conn, tenant_id, segment_id) is None:
            raise DomainValidationError("segment_id", f"segment {segment_id} does not exist")
        if store.count_webhooks(conn, tenant_id) >= MAX_WEBHOOKS:
            raise DomainValidationError("", f"a tenant has at most {MAX_WEBHOOKS} webhooks")
        return store.create_webhook(
            conn,
            tenant_id,
            url=url,
            segment_id=segment_id,
            events=events,
            enabled=enabled,
            cursor=last_seq(conn, tenant_id),
            keys=keys,
        )


def list_webhooks(db: Database, tenant_id: int) -> list[store.Webhook]:
    with db.read() as conn:
        return store.list_webhooks(conn, tenant_id)


def get_webhook(db: Database, tenant_id: int, webhook_id: int) -> store.Webhook:
    with db.read() as conn:
        return owned_webhook(conn, tenant_id, webhook_id)


def update_webhook(
    db: Database,
    settings: Settings,
    tenant_id: int,
    webhook_id: int,
    *,
    url: str | None = None,
    events: str | None = None,
    enabled: bool | None = None,
) -> store.Webhook:
    """Change what is given; an unchanged field keeps its value."""
    values: dict[str, object] = {}
    if url is not None:
        values["url"] = checked_url(url, settings)
    if events is not None:
        values["events"] = checked_events(events)
    if enabled is not None:
        values["enabled"] = enabled
    with db.write() as conn:
        return store.update_webhook(conn, owned_webhook(conn, tenant_id, webhook_id), **values)


def delete_webhook(db: Database, tenant_id: int, webhook_id: int) -> None:
    with db.write() as conn:
        store.delete_webhook(conn, owned_webhook(conn, tenant_id, webhook_id))


def rotate_secret(db: Database, keys: TokenKeys, tenant_id: int, webhook_id: int) -> str:
    with db.write() as conn:
        webhook = owned_webhook(conn, tenant_id, webhook_id)
        return store.rotate_secret(conn, tenant_id, webhook.id, keys)


def list_deliveries(
    db: Database,
    tenant_id: int,
    webhook_id: int,
    *,
    state: str | None,
    before: int | None,
    limit: int,
) -> list[store.Delivery]:
    with db.read() as conn:
        webhook = owned_webhook(conn, tenant_id, webhook_id)
        return store.list_deliveries(conn, webhook, state=state, before=before, limit=limit)


def replay_delivery(
    db: Database, tenant_id: int, webhook_id: int, delivery_id: int
) -> store.Delivery:
    """Queue a parked delivery again (same body, same ``webhook-id``), with a new window."""
    with db.write() as conn:
        webhook = owned_webhook(conn, tenant_id, webhook_id)
        delivery = store.get_delivery(conn, webhook, delivery_id) if delivery_id <= MAX_ID else None
        if delivery is None:
            raise NotFound(f"delivery {delivery_id}")
        if not store.requeue_delivery(conn, delivery, clock.now()):
            raise NotParked(
                "delivery_id", f"delivery {delivery_id} is {delivery.state}, not parked"
            )
        replayed = store.get_delivery(conn, webhook, delivery_id)
    assert replayed is not None
    return replayed


@dataclass(frozen=True)
class WebhookState:
    """A subscription with its last delivery and its parked ones (newest first)."""

    webhook: store.Webhook
    last: store.Delivery | None
    parked: list[store.Delivery]


def webhook_states(db: Database, tenant_id: int, parked_limit: int) -> list[WebhookState]:
    """Every subscription of the tenant, its last delivery and up to ``parked_limit`` parked."""
    with db.read() as conn:
        states = []
        for webhook in store.list_webhooks(conn, tenant_id):
            last = store.list_deliveries(conn, webhook, state=None, before=None, limit=1)
            parked = store.list_deliveries(
                conn, webhook, state="failed", before=None, limit=parked_limit
            )
            states.append(WebhookState(webhook, last[0] if last else None, parked))
        return states
