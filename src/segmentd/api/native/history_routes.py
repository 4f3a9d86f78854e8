"""The membership history (``services.history_service``): the change feed of the tenant and
of a segment, read with a keyset cursor; a member's history; whether a member was in a
segment at a time; a segment's size by day. Basic auth, the ``/v1/`` error envelope.

The cursor is the ``seq`` of the last change read (``next_after`` of a page): changes are
numbered per tenant in commit order, so a consumer storing it gets every change once, in
order, across restarts.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Query
from pydantic import BaseModel, Field

from ...domain.ids import MAX_ID
from ...services import history_service
from ...storage.db import Database
from ...storage.membership_history import Change
from ..common.app_state import get_db
from ..common.basic_auth import current_tenant
from ..common.envelope import NATIVE_ERROR_RESPONSES, invalid
from ..common.params import IdPath, IsoDate, IsoDateTime

router = APIRouter(prefix="/v1", tags=["membership history"], responses=NATIVE_ERROR_RESPONSES)

MAX_FEED_LIMIT = 1_000
MAX_SIZE_DAYS = 366
DEFAULT_SIZE_DAYS = 30

After = Annotated[
    int,
    Query(
        ge=0,
        le=MAX_ID,
        description="The cursor: the seq of the last change already read (0: from the "
        "oldest kept); the page's next_after is the next one (0 to 2^53-1)",
    ),
]
FeedLimit = Annotated[
    int,
    Query(ge=1, le=MAX_FEED_LIMIT, description=f"Changes per page (1 to {MAX_FEED_LIMIT})"),
]
Tenant = Annotated[int, Depends(current_tenant)]
Db = Annotated[Database, Depends(get_db)]


class ChangeOut(BaseModel):
    seq: int = Field(description="The change's number in the tenant's feed (the cursor)")
    segment_id: str
    list_id: int
    member_id: int
    change: Literal["entered", "left"]
    cause: Literal[
        "realtime",
        "build",
        "refresh",
        "removal",
        "static",
        "member_deleted",
        "reference",
        "deleted",
    ] = Field(description="What moved the member: see docs/history.md")
    at: str = Field(description="When the change committed (ISO 8601, UTC)")


class ChangePage(BaseModel):
    result: list[ChangeOut]
    count: int = Field(description="Changes in this page")
    next_after: int = Field(
        description="The cursor for the next page (the last change's seq, or the one sent "
        "when the page is empty: nothing newer yet)"
    )


class WasMember(BaseModel):
    segment_id: str
    member_id: int
    at: str = Field(description="The time asked about (ISO 8601, UTC)")
    member: bool = Field(description="Whether the segment held the member then")


class DaySize(BaseModel):
    day: date
    size: int | None = Field(
        description="Members at the end of the day (UTC); null before anything is known"
    )


class SizePage(BaseModel):
    result: list[DaySize]
    count: int


def iso(epoch: int) -> str:
    return datetime.fromtimestamp(epoch, UTC).isoformat().replace("+00:00", "Z")


def _page(changes: list[Change], after: int) -> ChangePage:
    result = [
        ChangeOut(
            seq=c.seq,
            segment_id=c.segment_id,
            list_id=c.list_id,
            member_id=c.member_id,
            change=c.change,
            cause=c.cause,
            at=iso(c.at),
        )
        for c in changes
    ]
    return ChangePage(
        result=result, count=len(result), next_after=changes[-1].seq if changes else after
    )


@router.get("/changes", response_model=ChangePage, summary="The tenant's membership changes")
def tenant_changes(
    tenant_id: Tenant, db: Db, after: After = 0, limit: FeedLimit = 100
) -> ChangePage:
    """Every member entering or leaving any of the tenant's segments, in commit order, after
    the cursor ``after``; deleted segments' changes included."""
    return _page(history_service.tenant_feed(db, tenant_id, after, limit), after)


@router.get(
    "/segments/{segment_id}/changes",
    response_model=ChangePage,
    summary="A segment's membership changes",
)
def segment_changes(
    segment_id: str, tenant_id: Tenant, db: Db, after: After = 0, limit: FeedLimit = 100
) -> ChangePage:
    """The members entering and leaving the segment, in commit order, after ``after``."""
    return _page(history_service.segment_feed(db, tenant_id, segment_id, after, limit), after)


@router.get(
    "/members/{member_id}/changes",
    response_model=ChangePage,
    summary="A member's segment history",
)
def member_changes(
    member_id: IdPath,
    tenant_id: Tenant,
    db: Db,
    after: After = 0,
    limit: FeedLimit = 100,
    segment_id: Annotated[
        str | None, Query(max_length=24, description="Only this segment's changes")
    ] = None,
) -> ChangePage:
    """The segments the member entered and left, in commit order, after ``after`` (a deleted
    member's history stays readable until it expires)."""
    found = history_service.member_history(db, tenant_id, member_id, after, limit, segment_id)
    return _page(found, after)


@router.get(
    "/segments/{segment_id}/members/{member_id}/was-member",
    response_model=WasMember,
    summary="Whether a member was in a segment at a time",
)
def was_member(
    segment_id: str,
    member_id: IdPath,
    tenant_id: Tenant,
    db: Db,
    at: Annotated[
        IsoDateTime | None,
        Query(description="The time (ISO 8601; without a zone: UTC; default: now)"),
    ] = None,
) -> WasMember:
    """By the history; for a time before the oldest change kept (see
    SEGMENTD_HISTORY_RETENTION_DAYS), as of that change."""
    moment = datetime.now(UTC) if at is None else at
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    try:  # a zone can carry the first or last day past the years a date can hold
        epoch = int(moment.astimezone(UTC).timestamp())
    except (OverflowError, ValueError):
        raise invalid("at", "out of range") from None
    held = history_service.was_member(db, tenant_id, segment_id, member_id, epoch)
    return WasMember(segment_id=segment_id, member_id=member_id, at=iso(epoch), member=held)


@router.get(
    "/segments/{segment_id}/sizes",
    response_model=SizePage,
    summary="A segment's size by day",
)
def segment_sizes(
    segment_id: str,
    tenant_id: Tenant,
    db: Db,
    first: Annotated[
        IsoDate | None,
        Query(
            alias="from",
            description=f"The first day (UTC; default: {DEFAULT_SIZE_DAYS - 1} days before to)",
        ),
    ] = None,
    last: Annotated[
        IsoDate | None,
        Query(
            alias="to",
            description=f"The last day (UTC; default and at most: today); at most "
            f"{MAX_SIZE_DAYS} days from the first",
        ),
    ] = None,
) -> SizePage:
    """The segment's member count at the end of each day, as its history recorded it."""
    today = datetime.now(UTC).date()
    last = min(last or today, today)
    if first is None:
        first = date.fromordinal(max(1, last.toordinal() - (DEFAULT_SIZE_DAYS - 1)))
    if first > last:
        raise invalid("from", "must be on or before to (and today)")
    if (last - first).days >= MAX_SIZE_DAYS:
        raise invalid("from", f"at most {MAX_SIZE_DAYS} days")
    days = history_service.sizes_by_day(db, tenant_id, segment_id, first, last)
    result = [DaySize(day=day, size=size) for day, size in days]
    return SizePage(result=result, count=len(result))
