"""What the segment and member pages show of the membership history
(``services.history_service``): a segment's size over its last 30 days as a bar chart drawn
on the server (SVG, its table beside it for screen readers), and changes as rows in words,
newest first, paged backwards by the feed's seq."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

from ...domain.errors import NotFound
from ...services import history_service
from ...storage.db import Database
from ...storage.membership_history import Change
from ...storage.ui_reads import member_emails, tenant_segments
from .deps import UiNotFound

CHART_DAYS = 30
CHART_WIDTH, CHART_HEIGHT = 600, 160  # the SVG's viewBox (the stylesheet sizes it)
BAR_GAP = 2
SEGMENT_CHANGES = 20  # on the segment page
PAGE_CHANGES = 50  # on the changes and member pages

CAUSE_WORDS = {
    "realtime": "a change to the member",
    "build": "a build",
    "refresh": "the daily refresh",
    "removal": "removed by hand",
    "static": "given or taken back by hand",
    "member_deleted": "member deleted",
    "reference": "a segment it refers to changed",
}


@dataclass(frozen=True)
class Bar:
    x: float
    y: float
    width: float
    height: float
    day: date
    size: int


@dataclass(frozen=True)
class SizeChart:
    days: list[tuple[date, int | None]]  # the table: every day, None before anything known
    bars: list[Bar]
    top: int  # the largest size shown (the chart's full height)
    low: int | None  # the smallest known size
    width: int = CHART_WIDTH
    height: int = CHART_HEIGHT

    @property
    def first(self) -> date:
        return self.days[0][0]

    @property
    def last(self) -> date:
        return self.days[-1][0]


def size_chart(days: list[tuple[date, int | None]]) -> SizeChart:
    """Bars of the known sizes scaled to the largest (a size of 0 draws nothing)."""
    known = [size for _, size in days if size is not None]
    top = max(known, default=0)
    slot = CHART_WIDTH / max(1, len(days))
    bars = []
    for index, (day, size) in enumerate(days):
        if size is None or size == 0:
            continue
        height = round(CHART_HEIGHT * size / top, 2)
        x = round(index * slot + BAR_GAP / 2, 2)
        top_y, width = round(CHART_HEIGHT - height, 2), round(slot - BAR_GAP, 2)
        bars.append(Bar(x, top_y, width, height, day, size))
    return SizeChart(days, bars, top, min(known, default=None))


def segment_sizes(db: Database, tenant_id: int, segment_id: str) -> SizeChart:
    """The segment's size at the end of each of its last 30 days (UTC), today's being now's."""
    today = datetime.now(UTC).date()
    first = today - timedelta(days=CHART_DAYS - 1)
    try:
        days = history_service.sizes_by_day(db, tenant_id, segment_id, first, today)
    except NotFound:
        raise UiNotFound() from None
    return size_chart(days)


@dataclass(frozen=True)
class ChangeRow:
    seq: int
    member_id: int
    email: str | None  # None: the member was deleted since
    segment_id: str
    segment_name: str | None  # None: deleted since (or beyond the names read)
    entered: bool
    cause: str  # in words (English; the template translates)
    at: int


@dataclass(frozen=True)
class ChangePage:
    rows: list[ChangeRow]
    before: int | None  # the cursor of the next (older) page; None: no older change


def before_of(raw: str | None) -> int | None:
    """The ``before`` cursor from the query string; anything but digits reads as the newest."""
    return int(raw) if raw and raw.isascii() and raw.isdigit() and len(raw) < 17 else None


def segment_changes(
    db: Database, tenant_id: int, segment_id: str, before: int | None, limit: int
) -> ChangePage:
    try:
        found = history_service.recent_segment_changes(db, tenant_id, segment_id, before, limit + 1)
    except NotFound:
        raise UiNotFound() from None
    return _page(db, tenant_id, found, limit)


def member_changes(db: Database, tenant_id: int, member_id: int, before: int | None) -> ChangePage:
    try:
        found = history_service.recent_member_changes(
            db, tenant_id, member_id, before, PAGE_CHANGES + 1
        )
    except NotFound:
        raise UiNotFound() from None
    return _page(db, tenant_id, found, PAGE_CHANGES)


def _page(db: Database, tenant_id: int, found: list[Change], limit: int) -> ChangePage:
    shown = found[:limit]
    with db.read() as conn:
        emails = member_emails(conn, tenant_id, [c.member_id for c in shown])
        names = {s.id: s.name for s in tenant_segments(conn, tenant_id)}
    rows = [
        ChangeRow(
            seq=c.seq,
            member_id=c.member_id,
            email=emails.get(c.member_id),
            segment_id=c.segment_id,
            segment_name=names.get(c.segment_id),
            entered=c.change == "entered",
            cause=CAUSE_WORDS.get(c.cause, c.cause),
            at=c.at,
        )
        for c in shown
    ]
    return ChangePage(rows, shown[-1].seq if len(found) > limit else None)
