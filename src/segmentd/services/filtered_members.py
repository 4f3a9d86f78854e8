"""A page of a segment's members, optionally filtered by a condition (EngageLab's "members
with an extra filter"). With the analytics back-end set, a filter is answered on its copy
(the page's ids and the total); the rows are then read from the system of record by those
ids, so the fields shown are current. Unfiltered pages always read the system of record.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import timezone
from typing import Any

from ..domain.conditions import Condition
from ..domain.errors import NotFound
from ..domain.validation import SegmentType, parse_condition
from ..jobs.analytics_source import AnalyticsSource
from ..membership import store
from ..storage.catalog import custom_fields, load_catalog
from ..storage.compiler import compile_condition
from ..storage.db import Database
from ..storage.faults import DatabaseUnavailable, is_transient
from ..storage.member_rows import MemberRow, fetch_members
from ..storage.segments import Segment, get_segment

log = logging.getLogger("segmentd.analytics")

UNAVAILABLE = "the analytics back-end could not answer the filter; try again"


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
    ids, total = page_on_copy(db, analytics, segment, condition, page)
    with db.read() as conn:
        rows = fetch_members(conn, tenant_id, ids, custom_fields(conn, tenant_id))
    return MembersPage(rows, total)


def page_on_copy(
    db: Database,
    analytics: AnalyticsSource,
    segment: Segment,
    condition: Condition,
    page: tuple[int, int],
) -> tuple[list[int], int]:
    """The page's ids and total on the analytics copy; its failure answers as a database
    that could not serve the request (503), not as a fault of ours."""
    try:
        return analytics.page(db, segment, condition, *page)
    except DatabaseUnavailable:
        raise
    except Exception as exc:
        if is_transient(exc):  # the system of record's fault, answered as such
            raise
        log.warning("analytics back-end failed on a members filter", exc_info=exc)
        raise DatabaseUnavailable(UNAVAILABLE, applied=False) from exc
