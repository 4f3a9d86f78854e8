"""Webhook subscriptions and their deliveries (docs/webhooks.md): rows only.

A subscription's signing secret is sealed with the server's keys (``secrets.TokenKeys``) and
bound to its row; it is shown once, when made or rotated. Deliveries are written by
``jobs.webhook_dispatch`` and run by ``jobs.webhook_delivery``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from ..domain.statuses import JobState
from ..secrets import TokenKeys, new_webhook_secret
from ..timefmt import now
from .schema import webhook_deliveries, webhooks

EVENTS = ("entered", "left", "both")


@dataclass(frozen=True)
class Webhook:
    id: int
    tenant_id: int
    url: str
    segment_id: str | None  # None: every segment of the tenant
    events: str  # entered, left, both
    enabled: bool
    cursor: int  # the last change handed to a delivery
    created_at: int
    updated_at: int

    def wants(self, change: str) -> bool:
        return self.events in ("both", change)


def _webhook(row: Any) -> Webhook:
    return Webhook(
        row.id,
        row.tenant_id,
        row.url,
        row.segment_id,
        row.events,
        bool(row.enabled),
        int(row.cursor),
        int(row.created_at),
        int(row.updated_at),
    )


_COLUMNS = [c for c in webhooks.c if c.name != "secret_sealed"]


def get_webhook(conn: Connection, tenant_id: int, webhook_id: int) -> Webhook | None:
    row = conn.execute(
        sa.select(*_COLUMNS).where(webhooks.c.tenant_id == tenant_id, webhooks.c.id == webhook_id)
    ).first()
    return _webhook(row) if row else None


def list_webhooks(conn: Connection, tenant_id: int) -> list[Webhook]:
    rows = conn.execute(
        sa.select(*_COLUMNS).where(webhooks.c.tenant_id == tenant_id).order_by(webhooks.c.id)
    )
    return [_webhook(row) for row in rows]


def count_webhooks(conn: Connection, tenant_id: int) -> int:
    query = sa.select(sa.func.count()).where(webhooks.c.tenant_id == tenant_id)
    return int(conn.execute(query).scalar_one())


def create_webhook(
    conn: Connection,
    tenant_id: int,
    *,
    url: str,
    segment_id: str | None,
    events: str,
    enabled: bool,
    cursor: int,
    keys: TokenKeys,
) -> tuple[Webhook, str]:
    """A new subscription following the feed from ``cursor``; returns it and its secret."""
    at = now()
    webhook_id = conn.execute(
        sa.insert(webhooks)
        .values(
            tenant_id=tenant_id,
            url=url,
            segment_id=segment_id,
            events=events,
            enabled=enabled,
            secret_sealed="",
            cursor=cursor,
            created_at=at,
            updated_at=at,
        )
        .returning(webhooks.c.id)
    ).scalar_one()
    secret = rotate_secret(conn, tenant_id, int(webhook_id), keys)
    created = get_webhook(conn, tenant_id, int(webhook_id))
    assert created is not None
    return created, secret


def rotate_secret(conn: Connection, tenant_id: int, webhook_id: int, keys: TokenKeys) -> str:
    """A new signing secret; deliveries sent from now on are signed with it."""
    secret = new_webhook_secret()
    conn.execute(
        sa.update(webhooks)
        .where(webhooks.c.tenant_id == tenant_id, webhooks.c.id == webhook_id)
        .values(secret_sealed=keys.seal_webhook_secret(secret, webhook_id), updated_at=now())
    )
    return secret


def read_secret(conn: Connection, tenant_id: int, webhook_id: int, keys: TokenKeys) -> str | None:
    """The signing secret in clear (to sign a delivery); None when the subscription is gone.
    Raises ``secrets.SealError`` when another server secret sealed it."""
    sealed = conn.execute(
        sa.select(webhooks.c.secret_sealed).where(
            webhooks.c.tenant_id == tenant_id, webhooks.c.id == webhook_id
        )
    ).scalar()
    return None if sealed is None else keys.unseal_webhook_secret(sealed, webhook_id)


def update_webhook(conn: Connection, webhook: Webhook, **values: Any) -> Webhook:
    """Set ``url``, ``events`` and/or ``enabled``."""
    if values:
        conn.execute(
            sa.update(webhooks)
            .where(webhooks.c.tenant_id == webhook.tenant_id, webhooks.c.id == webhook.id)
            .values(**values, updated_at=now())
        )
    updated = get_webhook(conn, webhook.tenant_id, webhook.id)
    assert updated is not None
    return updated


def delete_webhook(conn: Connection, webhook: Webhook) -> None:
    """The subscription and every delivery of it (a delivery in flight finds it gone)."""
    d = webhook_deliveries.c
    conn.execute(
        sa.delete(webhook_deliveries).where(
            d.tenant_id == webhook.tenant_id, d.webhook_id == webhook.id
        )
    )
    conn.execute(
        sa.delete(webhooks).where(
            webhooks.c.tenant_id == webhook.tenant_id, webhooks.c.id == webhook.id
        )
    )


def delete_segment_webhooks(conn: Connection, tenant_id: int, segment_id: str) -> None:
    """Delete the subscriptions to one segment (deleted), with their deliveries."""
    w, d = webhooks.c, webhook_deliveries.c
    of_segment = sa.select(w.id).where(w.tenant_id == tenant_id, w.segment_id == segment_id)
    conn.execute(
        sa.delete(webhook_deliveries).where(d.tenant_id == tenant_id, d.webhook_id.in_(of_segment))
    )
    conn.execute(sa.delete(webhooks).where(w.tenant_id == tenant_id, w.segment_id == segment_id))


@dataclass(frozen=True)
class Delivery:
    id: int
    webhook_id: int
    message_id: str
    first_seq: int
    last_seq: int
    change_count: int
    state: str
    tries: int
    next_attempt_at: float
    last_status: int | None
    error: str | None
    created_at: int
    delivered_at: int | None


_DELIVERY_COLUMNS = [c for c in webhook_deliveries.c if c.name != "payload"]


def _delivery(row: Any) -> Delivery:
    return Delivery(
        row.id,
        row.webhook_id,
        row.message_id,
        int(row.first_seq),
        int(row.last_seq),
        int(row.change_count),
        row.state,
        int(row.tries),
        float(row.next_attempt_at),
        row.last_status,
        row.error,
        int(row.created_at),
        row.delivered_at,
    )


def list_deliveries(
    conn: Connection,
    webhook: Webhook,
    *,
    state: str | None,
    before: int | None,
    limit: int,
) -> list[Delivery]:
    """The subscription's deliveries, newest first; ``before`` a delivery id (keyset)."""
    d = webhook_deliveries.c
    query = sa.select(*_DELIVERY_COLUMNS).where(
        d.tenant_id == webhook.tenant_id, d.webhook_id == webhook.id
    )
    if state is not None:
        query = query.where(d.state == state)
    if before is not None:
        query = query.where(d.id < before)
    rows = conn.execute(query.order_by(d.id.desc()).limit(limit))
    return [_delivery(row) for row in rows]


def get_delivery(conn: Connection, webhook: Webhook, delivery_id: int) -> Delivery | None:
    d = webhook_deliveries.c
    row = conn.execute(
        sa.select(*_DELIVERY_COLUMNS).where(
            d.tenant_id == webhook.tenant_id, d.webhook_id == webhook.id, d.id == delivery_id
        )
    ).first()
    return _delivery(row) if row else None


def requeue_delivery(conn: Connection, delivery: Delivery, at: float) -> bool:
    """Queue a parked delivery again, with a fresh retry window; False unless it was parked."""
    d = webhook_deliveries.c
    queued = conn.execute(
        sa.update(webhook_deliveries)
        .where(d.id == delivery.id, d.state == JobState.FAILED)
        .values(
            state=JobState.QUEUED,
            next_attempt_at=at,
            window_start=None,
            tries=0,
            attempts=0,
            lease_owner=None,
            lease_expires_at=None,
            updated_at=now(),
        )
    )
    return queued.rowcount == 1
