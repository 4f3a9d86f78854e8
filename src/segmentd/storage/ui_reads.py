"""Reads the web UI's pages need: campaign, list and segment pickers, when a segment last
built, and the emails that name members in a change history.

Every query filters on the tenant.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from .campaigns import list_campaigns
from .schema import lists, members
from .schema import segments as segments_table
from .sqlite_plans import members_by_id


@dataclass(frozen=True)
class CampaignChoice:
    id: int
    name: str
    status: str


@dataclass(frozen=True)
class ListChoice:
    id: int
    name: str
    is_default: bool


@dataclass(frozen=True)
class SegmentChoice:
    id: str
    name: str
    list_id: int


@dataclass(frozen=True)
class BuildInfo:
    """What ``storage.segments.Segment`` leaves out: when the segment was last built, and why
    its last build failed."""

    built_at: int | None
    error: str | None


MAX_CAMPAIGN_CHOICES = 500
MAX_SEGMENT_CHOICES = 500


def tenant_campaigns(conn: Connection, tenant_id: int) -> list[CampaignChoice]:
    """The newest campaigns, for the campaign picker."""
    found, _total = list_campaigns(conn, tenant_id, 0, MAX_CAMPAIGN_CHOICES)
    return [CampaignChoice(c.id, c.name, str(c.status)) for c in found]


def tenant_lists(conn: Connection, tenant_id: int) -> list[ListChoice]:
    rows = conn.execute(
        sa.select(lists.c.id, lists.c.name, lists.c.is_default)
        .where(lists.c.tenant_id == tenant_id)
        .order_by(lists.c.is_default.desc(), lists.c.id)
    )
    return [ListChoice(int(row.id), row.name, bool(row.is_default)) for row in rows]


def tenant_segments(conn: Connection, tenant_id: int) -> list[SegmentChoice]:
    """The tenant's segments by name, for the segment picker and for naming them in words."""
    s = segments_table.c
    rows = conn.execute(
        sa.select(s.id, s.name, s.list_id)
        .where(s.tenant_id == tenant_id)
        .order_by(s.name, s.id)
        .limit(MAX_SEGMENT_CHOICES)
    )
    return [SegmentChoice(row.id, row.name, int(row.list_id)) for row in rows]


def build_info(
    conn: Connection, tenant_id: int, segment_ids: Sequence[str]
) -> dict[str, BuildInfo]:
    if not segment_ids:
        return {}
    s = segments_table.c
    rows = conn.execute(
        sa.select(s.id, s.built_at, s.error).where(
            s.tenant_id == tenant_id, s.id.in_(list(segment_ids))
        )
    )
    return {row.id: BuildInfo(row.built_at, row.error) for row in rows}


def list_sizes(conn: Connection, tenant_id: int, list_ids: Sequence[int]) -> dict[int, int]:
    """How many members each list has now (a list without members is left out)."""
    if not list_ids:
        return {}
    m = members.c
    rows = conn.execute(
        sa.select(m.list_id, sa.func.count())
        .where(m.tenant_id == tenant_id, m.list_id.in_(sorted(set(list_ids))))
        .group_by(m.list_id)
    )
    return {int(list_id): int(count) for list_id, count in rows}


def member_emails(conn: Connection, tenant_id: int, member_ids: Sequence[int]) -> dict[int, str]:
    """{id: email} of those of ``member_ids`` still members of the tenant (a page's worth)."""
    if not member_ids:
        return {}
    m = members.c
    query = sa.select(m.id, m.email).where(members_by_id(tenant_id, sorted(set(member_ids))))
    rows = conn.execute(query)
    return {int(row.id): row.email for row in rows}
