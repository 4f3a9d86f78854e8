"""Reads the UI needs that storage does not offer (yet): move them to storage when others need them.

Every query filters on the tenant.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import sqlalchemy as sa
from sqlalchemy.engine import Connection
from sqlalchemy.sql import ColumnElement

from ...storage.campaigns import list_campaigns
from ...storage.schema import lists, members, segment_exclusions
from ...storage.schema import segments as segments_table


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
class BuildInfo:
    """What ``storage.segments.Segment`` leaves out: when the segment was last built, and why
    its last build failed."""

    built_at: int | None
    error: str | None


MAX_CAMPAIGN_CHOICES = 500


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


def _in_list(tenant_id: int, list_id: int) -> list[ColumnElement[bool]]:
    return [members.c.tenant_id == tenant_id, members.c.list_id == list_id]


def count_matching(
    conn: Connection,
    tenant_id: int,
    list_id: int,
    where: ColumnElement[bool],
    excluded_by: str | None = None,
) -> int:
    """Members of the list that satisfy ``where`` (less the exclusions of segment ``excluded_by``):
    the count a build of that condition would publish now."""
    query = sa.select(sa.func.count()).where(*_in_list(tenant_id, list_id), where)
    if excluded_by is not None:
        ex = segment_exclusions.c
        query = query.where(
            ~sa.exists().where(
                ex.tenant_id == tenant_id,
                ex.segment_id == excluded_by,
                ex.member_id == members.c.id,
            )
        )
    return int(conn.execute(query).scalar_one())


def list_member_page(
    conn: Connection,
    tenant_id: int,
    list_id: int,
    *,
    where: ColumnElement[bool] | None = None,
    offset: int = 0,
    limit: int = 20,
) -> tuple[list[int], int]:
    """Ids of one page of a list's members (by id) satisfying ``where``, and how many in all."""
    filters = [*_in_list(tenant_id, list_id)]
    if where is not None:
        filters.append(where)
    total = conn.execute(sa.select(sa.func.count()).where(*filters)).scalar_one()
    ids = conn.execute(
        sa.select(members.c.id).where(*filters).order_by(members.c.id).offset(offset).limit(limit)
    ).scalars()
    return [int(member_id) for member_id in ids], int(total)
