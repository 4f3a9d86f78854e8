"""Cutting webhook batches: each subscription reads the tenant's change feed from its cursor.

A subscription with no delivery queued, running or parked gets its next batch: the next
``webhook_batch_size`` changes after its cursor (of its segment, when it has one), those of
the events it wants, become one ``webhook_deliveries`` row, and the cursor moves past them, in
one transaction. So batches are cut in feed order, the next only once the previous one was
delivered, and a crash between two steps loses or repeats nothing: the row and the cursor
commit together. A parked delivery holds its subscription back until it is replayed.
"""

from __future__ import annotations

import json
import secrets
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from .. import clock
from ..domain.statuses import JobState
from ..settings import Settings
from ..storage.db import Database
from ..storage.membership_history import Change, read_changes
from ..storage.schema import webhook_deliveries, webhooks
from ..storage.webhooks import Webhook, get_webhook
from ..timefmt import now

EVENT_TYPE = "segment.membership.changed"
# A delivery of these states holds its subscription's next batch back.
HOLDING = (JobState.QUEUED, JobState.RUNNING, JobState.FAILED)


def dispatch(db: Database, settings: Settings) -> int:
    """Cut the next batch of every subscription that may have one; how many were cut."""
    cut = 0
    for tenant_id, webhook_id in _idle_subscriptions(db):
        with db.read() as conn:
            webhook = get_webhook(conn, tenant_id, webhook_id)
            if webhook is None or not _read(conn, webhook, settings):
                continue  # nothing new: no write transaction
        cut += _cut_batch(db, settings, tenant_id, webhook_id)
    return cut


def _idle_subscriptions(db: Database) -> list[tuple[int, int]]:
    w, d = webhooks.c, webhook_deliveries.c
    holding = sa.exists().where(
        d.tenant_id == w.tenant_id, d.webhook_id == w.id, d.state.in_(HOLDING)
    )
    with db.read() as conn:
        rows = conn.execute(
            sa.select(w.tenant_id, w.id).where(w.enabled.is_(True), ~holding).order_by(w.id)
        )
        return [(int(row.tenant_id), int(row.id)) for row in rows]


def _read(conn: Connection, webhook: Webhook, settings: Settings) -> list[Change]:
    return read_changes(
        conn,
        webhook.tenant_id,
        after_seq=webhook.cursor,
        limit=settings.webhook_batch_size,
        segment_id=webhook.segment_id,
    )


def _cut_batch(db: Database, settings: Settings, tenant_id: int, webhook_id: int) -> int:
    """Under the subscription's row lock, checked again: one batch, and the cursor past it."""
    w, d = webhooks.c, webhook_deliveries.c
    with db.write() as conn:
        locked = conn.execute(
            sa.select(w.id).where(w.tenant_id == tenant_id, w.id == webhook_id).with_for_update()
        ).first()
        holding = conn.execute(
            sa.select(d.id)
            .where(d.tenant_id == tenant_id, d.webhook_id == webhook_id, d.state.in_(HOLDING))
            .limit(1)
        ).first()
        webhook = get_webhook(conn, tenant_id, webhook_id)
        if locked is None or holding is not None or webhook is None or not webhook.enabled:
            return 0
        changes = _read(conn, webhook, settings)
        if not changes:
            return 0
        wanted = [change for change in changes if webhook.wants(change.change)]
        conn.execute(sa.update(webhooks).where(w.id == webhook_id).values(cursor=changes[-1].seq))
        if not wanted:
            return 0
        _insert_delivery(conn, webhook, wanted)
        return 1


def _insert_delivery(conn: Connection, webhook: Webhook, changes: Sequence[Change]) -> None:
    message_id = "msg_" + secrets.token_hex(16)
    conn.execute(
        sa.insert(webhook_deliveries).values(
            tenant_id=webhook.tenant_id,
            webhook_id=webhook.id,
            message_id=message_id,
            first_seq=changes[0].seq,
            last_seq=changes[-1].seq,
            change_count=len(changes),
            payload=payload(webhook, changes),
            state=JobState.QUEUED,
            next_attempt_at=clock.now(),
            tries=0,
            attempts=0,
            created_at=now(),
            updated_at=now(),
        )
    )


def _iso(epoch: float) -> str:
    return datetime.fromtimestamp(epoch, UTC).isoformat().replace("+00:00", "Z")


def change_json(change: Change) -> dict[str, Any]:
    return {
        "seq": change.seq,
        "segment_id": change.segment_id,
        "list_id": change.list_id,
        "member_id": change.member_id,
        "change": change.change,
        "cause": change.cause,
        "at": _iso(change.at),
    }


def payload(webhook: Webhook, changes: Sequence[Change]) -> str:
    """The body of a delivery (docs/webhooks.md), fixed once: every attempt posts it as is."""
    body = {
        "type": EVENT_TYPE,
        "timestamp": _iso(clock.now()),
        "data": {
            "subscription_id": webhook.id,
            "segment_id": webhook.segment_id,
            "changes": [change_json(change) for change in changes],
        },
    }
    return json.dumps(body, separators=(",", ":"))
