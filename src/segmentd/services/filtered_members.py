"""A page of a segment's members, optionally filtered by a condition (EngageLab's "members
with an extra filter"). With the analytics back-end set, a filter is answered on its copy
(the page's ids and the total); the rows are then read from the system of record by those
ids, so the fields shown are current. Unfiltered pages always read the system of record.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timezone
from typing import Any

from ..domain.errors import NotFound
from ..domain.validation import SegmentType, parse_condition
from ..jobs.analytics_source import AnalyticsSource
from ..membership import store
from ..storage.catalog import custom_fields, load_catalog
from ..storage.compiler import compile_condition
from ..storage.db import Database
from ..storage.member_rows import MemberRow, fetch_members
from ..storage.segments import get_segment


@dataclass(frozen=True)
class MembersPage:
    rows: list[MemberRow]
    total: int


def members_page(
    db: Database,
    tenant_id: int,
    segment_id: str,
    raw_condition: Any,
    tz: timezone,
    page: tuple[int, int],
    analytics: AnalyticsSource | None = None,
) -> MembersPage:
    """One page (``(offset, limit)``, by id) of the published members the flat condition
    (None: no filter) holds for, and how many it holds for."""
    offset, limit = page
    with db.snapshot() as conn:  # the segment, its counts and its rows must agree
        segment = get_segment(conn, tenant_id, segment_id)
        if segment is None:
            raise NotFound("segment")
        condition = None
        if raw_condition is not None:
            catalog = load_catalog(conn, tenant_id)
            condition = parse_condition(raw_condition, catalog, SegmentType.BY_FIELD, tz)
        if condition is None or analytics is None:
            where = None if condition is None else compile_condition(condition)
            ids, total = store().page(conn, segment, where=where, offset=offset, limit=limit)
            rows = fetch_members(conn, tenant_id, ids, custom_fields(conn, tenant_id))
            return MembersPage(rows, total)
    ids, total = analytics.page(db, segment, condition, *page)  # ClickHouse down: 503
    with db.read() as conn:
        rows = fetch_members(conn, tenant_id, ids, custom_fields(conn, tenant_id))
    return MembersPage(rows, total)
