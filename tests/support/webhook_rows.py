"""A parked webhook delivery written straight into the database: what a day of failures
leaves, for tests of the endpoints that list and replay parked deliveries."""

from __future__ import annotations

import json
import time

import sqlalchemy as sa

from segmentd.storage.db import Database
from segmentd.storage.schema import webhook_deliveries


def park_delivery(db: Database, tenant_id: int, webhook_id: int) -> int:
    """A failed (parked) delivery of one change; its id."""
    at = int(time.time())
    body = {"type": "segment.membership.changed", "data": {"changes": []}}
    with db.write() as conn:
        return int(
            conn.execute(
                sa.insert(webhook_deliveries)
                .values(
                    tenant_id=tenant_id,
                    webhook_id=webhook_id,
                    message_id=f"msg_parked{webhook_id}",
                    first_seq=1,
                    last_seq=1,
                    change_count=1,
                    payload=json.dumps(body),
                    state="failed",
                    next_attempt_at=at,
                    window_start=at - 86_400,
                    tries=30,
                    last_status=503,
                    attempts=30,
                    error="answered 503",
                    created_at=at - 86_400,
                    updated_at=at,
                )
                .returning(webhook_deliveries.c.id)
            ).scalar_one()
        )
