"""One member's campaign activity: each campaign it was sent, with when it was sent, opened
and clicked (the member page of the UI)."""

from __future__ import annotations

from dataclasses import dataclass

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from .schema import campaign_activity, campaigns


@dataclass(frozen=True)
class Activity:
    campaign_id: int
    campaign_name: str
    sent_at: int | None
    opened_at: int | None
    clicked_at: int | None


def member_activity(
    conn: Connection, tenant_id: int, member_id: int, limit: int
) -> tuple[list[Activity], int]:
    """The member's ``limit`` latest campaigns (by the last event's time, then campaign id,
    newest first) and how many it has in all."""
    a, c = campaign_activity.c, campaigns.c
    mine = (a.tenant_id == tenant_id, a.member_id == member_id)
    latest = sa.func.coalesce(a.clicked_at, a.opened_at, a.sent_at, 0)
    rows = conn.execute(
        sa.select(a.campaign_id, c.name, a.sent_at, a.opened_at, a.clicked_at)
        .join(campaigns, sa.and_(c.tenant_id == a.tenant_id, c.id == a.campaign_id))
        .where(*mine)
        .order_by(latest.desc(), a.campaign_id.desc())
        .limit(limit)
    ).all()
    total = conn.execute(sa.select(sa.func.count()).where(*mine)).scalar_one()
    found = [Activity(r.campaign_id, r.name, r.sent_at, r.opened_at, r.clicked_at) for r in rows]
    return found, int(total)
