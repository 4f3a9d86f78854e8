"""What several pages show: segment status, paging, members as table rows, tenant pickers."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timezone
from typing import Any

from sqlalchemy.engine import Connection

from ...domain.fields import Catalog, FieldDef
from ...domain.statuses import SegmentStatus
from ...storage.catalog import custom_fields, load_catalog
from ...storage.member_rows import fetch_members
from ...storage.segments import Segment
from ...storage.ui_reads import (
    CampaignChoice,
    ListChoice,
    SegmentChoice,
    tenant_campaigns,
    tenant_lists,
    tenant_segments,
)
from ..common.member_json import member_json
from ..common.segment_schema import Process
from .rows.leaf_row import Picks

PAGE_SIZE = 20
STATUS_WORDS = {
    SegmentStatus.FAILED: "failed",
    SegmentStatus.BUILDING: "building",
    SegmentStatus.COMPLETE: "complete",
}
TYPE_WORDS = {0: "by field", 1: "by campaign"}


@dataclass(frozen=True)
class StatusView:
    code: int
    word: str
    building: bool
    percent: int
    description: str


def status_view(segment: Segment) -> StatusView:
    process = Process.of(segment)
    return StatusView(
        code=segment.status,
        word=STATUS_WORDS.get(SegmentStatus(segment.status), str(segment.status)),
        building=segment.status == SegmentStatus.BUILDING,
        percent=process.percent,
        description=process.statusDesc,
    )


@dataclass(frozen=True)
class Paging:
    offset: int
    limit: int
    total: int

    @property
    def first(self) -> int:
        return min(self.offset + 1, self.total)

    @property
    def last(self) -> int:
        return min(self.offset + self.limit, self.total)

    @property
    def previous(self) -> int | None:
        return max(0, self.offset - self.limit) if self.offset > 0 else None

    @property
    def next(self) -> int | None:
        return self.offset + self.limit if self.offset + self.limit < self.total else None


def offset_of(raw: str | None) -> int:
    """A page offset from the query string; anything but digits reads as the first page."""
    return int(raw) if raw and raw.isascii() and raw.isdigit() and len(raw) < 12 else 0


@dataclass(frozen=True)
class TenantData:
    """What pickers and descriptions need about a tenant's catalog."""

    catalog: Catalog
    campaigns: list[CampaignChoice]
    lists: list[ListChoice]
    segments: list[SegmentChoice]

    def picks(self, editing: str | None = None) -> Picks:
        """What condition rows need, while editing segment ``editing`` (or none)."""
        return Picks(self.catalog, self.campaigns, self.segments, editing)


def tenant_data(conn: Connection, tenant_id: int) -> TenantData:
    return TenantData(
        load_catalog(conn, tenant_id),
        tenant_campaigns(conn, tenant_id),
        tenant_lists(conn, tenant_id),
        tenant_segments(conn, tenant_id),
    )


def member_table(
    conn: Connection, tenant_id: int, ids: list[int], tz: timezone
) -> tuple[list[FieldDef], list[dict[str, Any]]]:
    """The visible custom fields, and the members in the API's JSON shape, for a table."""
    fields = custom_fields(conn, tenant_id)
    rows = [member_json(row, tz) for row in fetch_members(conn, tenant_id, ids, fields)]
    return [field for field in fields if field.visible], rows
