"""Writes to members and campaign activity, with the segments following at once.

Each function runs in the caller's transaction: the storage writer changes the members and
says what it changed, and the membership applies that change to every live segment
generation before the transaction commits, so segments are never behind their members.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import timezone
from typing import Any

from sqlalchemy.engine import Connection

from .. import metrics
from ..membership import store
from ..storage import campaigns
from ..storage import members as stored_members
from ..storage.campaigns import EventsResult
from ..storage.members import TagFlag, UpsertResult


def upsert_members(
    conn: Connection,
    tenant_id: int,
    list_id: int | None,
    rows: Sequence[Any],
    *,
    update_existing: bool,
    tag_flag: TagFlag,
    tz: timezone,
) -> UpsertResult:
    """Create or update members by email (``storage.members.upsert_members``)."""
    result, changed = stored_members.upsert_members(
        conn, tenant_id, list_id, rows, update_existing=update_existing, tag_flag=tag_flag
    )
    store().apply_changes(conn, tenant_id, changed, tz)
    metrics.realtime_update(len(changed.member_ids))
    return result


def delete_members(conn: Connection, tenant_id: int, member_ids: Sequence[int]) -> int:
    """Delete members, once they have left every segment; return the count."""
    ids = stored_members.members_to_delete(conn, tenant_id, member_ids)
    store().drop_members(conn, tenant_id, ids)
    return stored_members.delete_members(conn, tenant_id, ids)


def unsubscribe(
    conn: Connection, tenant_id: int, list_id: int, emails: Sequence[str], tz: timezone
) -> int:
    """Mark the list's members with these emails unsubscribed; return how many were not."""
    changed = stored_members.unsubscribe(conn, tenant_id, list_id, emails)
    store().apply_changes(conn, tenant_id, changed, tz)
    metrics.realtime_update(len(changed.member_ids))
    return len(changed.member_ids)


def record_events(
    conn: Connection, tenant_id: int, campaign_id: int, raw_events: Sequence[Any], tz: timezone
) -> EventsResult | None:
    """Record a campaign's sent/open/click events; None when there is no such campaign."""
    recorded = campaigns.record_events(conn, tenant_id, campaign_id, raw_events, tz)
    if recorded is None:
        return None
    result, changed = recorded
    store().apply_changes(conn, tenant_id, changed, tz)
    metrics.realtime_update(len(changed.member_ids))
    return result
