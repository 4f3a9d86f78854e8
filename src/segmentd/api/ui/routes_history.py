"""The membership history's pages: a segment's entries and exits paged backwards, and a
member's page (fields, tags, subscription, campaign activity, the segments holding it now,
its history)."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import Response

from ...domain.errors import NotFound
from ...domain.ids import MAX_ID, ascii_int
from ...services.member_segments import segments_holding
from ...storage.member_activity import member_activity
from ...storage.segments import get_segment
from .deps import Config, Db, UiNotFound, User
from .history_view import PAGE_CHANGES, before_of, member_changes, segment_changes
from .rendering import render
from .views import member_table

router = APIRouter(prefix="/ui", include_in_schema=False)

SHOWN_CAMPAIGNS = 50  # a member's latest campaigns on its page


@router.get("/segments/{segment_id}/changes")
def segment_changes_page(request: Request, segment_id: str, user: User, db: Db) -> Response:
    with db.read() as conn:
        segment = get_segment(conn, user.tenant_id, segment_id)
    if segment is None:
        raise UiNotFound()
    before = before_of(request.query_params.get("before"))
    page = segment_changes(db, user.tenant_id, segment.id, before, PAGE_CHANGES)
    return render(request, "segment_changes.html", user=user, segment=segment, changes=page)


def member_id_of(raw: str) -> int:
    member_id = ascii_int(raw)
    if member_id is None or not 0 < member_id <= MAX_ID:
        raise UiNotFound()
    return member_id


@router.get("/members/{member_id}")
def member_page(request: Request, member_id: str, user: User, db: Db, settings: Config) -> Response:
    wanted = member_id_of(member_id)
    with db.read() as conn:
        fields, rows = member_table(conn, user.tenant_id, [wanted], settings.tz)
        activity, campaign_total = member_activity(conn, user.tenant_id, wanted, SHOWN_CAMPAIGNS)
    if not rows:
        raise UiNotFound()
    try:
        holding = segments_holding(db, user.tenant_id, wanted)
    except NotFound:  # deleted meanwhile
        raise UiNotFound() from None
    before = before_of(request.query_params.get("before"))
    history = member_changes(db, user.tenant_id, wanted, before)
    return render(
        request,
        "member.html",
        user=user,
        member=rows[0],
        fields=fields,
        segments=holding,
        changes=history,
        activity=activity,
        campaign_total=campaign_total,
    )
