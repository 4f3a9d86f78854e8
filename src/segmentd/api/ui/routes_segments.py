"""The segments list and the segment page: status, members, removal, export, rebuild, delete."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

from fastapi import APIRouter, Request
from fastapi.responses import Response, StreamingResponse
from sqlalchemy.engine import Connection

from ...domain.errors import DomainValidationError, InUse, NotFound
from ...domain.ids import MAX_ID
from ...domain.segment_kinds import SegmentKind
from ...membership import store
from ...services import segment_service
from ...services.native_segments import clone_segment
from ...services.segment_rules import checked_type_filter
from ...storage.segments import Segment, get_segment, list_segments
from ...storage.ui_reads import build_info, list_sizes
from ..common.csv_export import csv_response
from .builder import saved_tree
from .deps import Db, Form, UiNotFound, User, is_htmx, redirect
from .freshness_view import freshness_views
from .given_members_form import GivenForm
from .history_view import SEGMENT_CHANGES, segment_changes, segment_sizes
from .i18n import translator
from .member_filter import (
    filter_clause,
    filter_condition,
    filter_leaf,
    filter_subjects,
    filter_view,
)
from .refusal_words import refusal, refusals
from .rendering import language, render
from .tree_words import Words, tree_words
from .views import (
    PAGE_SIZE,
    TYPE_WORDS,
    Paging,
    TenantData,
    member_table,
    offset_of,
    status_view,
    tenant_data,
)

router = APIRouter(prefix="/ui/segments", include_in_schema=False)


# --- the list ------------------------------------------------------------------------------------


def _type_filter(raw: str) -> int | None:
    """0 or 1; anything else shows every type (a page, unlike the API, need not refuse)."""
    try:
        return checked_type_filter(raw)
    except DomainValidationError:
        return None


def share_of(size: int, list_size: int) -> str:
    """The segment's share of its list, in percent with one decimal ("" for an empty list)."""
    if list_size <= 0:
        return ""
    return f"{min(size, list_size) * 100 / list_size:.1f}"


def _list_context(
    request: Request, db: Db, user: User, q: str, type_: str, offset: str
) -> dict[str, Any]:
    segment_type, start = _type_filter(type_), offset_of(offset)
    with db.read() as conn:
        found, total = list_segments(
            conn,
            user.tenant_id,
            name_contains=q or None,
            segment_type=segment_type,
            offset=start,
            limit=PAGE_SIZE,
        )
        info = build_info(conn, user.tenant_id, [s.id for s in found])
        sizes = list_sizes(conn, user.tenant_id, [s.list_id for s in found])
    settings = request.app.state.settings
    return {
        "segments": [(s, status_view(s), info.get(s.id)) for s in found],
        "shares": {s.id: share_of(s.member_total, sizes.get(s.list_id, 0)) for s in found},
        "fresh": freshness_views(db, user.tenant_id, [s.id for s in found], settings),
        "paging": Paging(start, PAGE_SIZE, total),
        "q": q,
        "type_filter": "" if segment_type is None else str(segment_type),
        "type_words": TYPE_WORDS,
        "polling": any(s.status == 1 for s in found),
    }


@router.get("")
def segments_page(
    request: Request, user: User, db: Db, q: str = "", type: str = "", offset: str = "0"
) -> Response:
    context = _list_context(request, db, user, q, type, offset)
    return render(request, "segments.html", user=user, **context)


@router.get("/table")
def segments_table(
    request: Request, user: User, db: Db, q: str = "", type: str = "", offset: str = "0"
) -> Response:
    """The table alone: the list page polls it while a segment builds."""
    context = _list_context(request, db, user, q, type, offset)
    return render(request, "partials/segments_table.html", user=user, **context)


# --- one segment -------------------------------------------------------------------------------


def _segment(conn: Connection, user: User, segment_id: str) -> Segment:
    segment = get_segment(conn, user.tenant_id, segment_id)
    if segment is None:
        raise UiNotFound()
    return segment


def _page_on_copy(
    request: Request, db: Db, user: User, segment_id: str
) -> tuple[list[int], int] | None:
    """With the analytics back-end set, a filtered page's ids and total, on its copy (the
    rows are then read from the system of record); None: the page reads the system of
    record alone (no back-end, no filter, or a filter refused)."""
    analytics = getattr(request.app.state, "analytics", None)
    if analytics is None or request.query_params.get("filter") != "1":
        return None
    with db.read() as conn:
        segment = _segment(conn, user, segment_id)
        picks = tenant_data(conn, user.tenant_id).picks()
    node = filter_leaf(request.query_params, picks)
    condition, _errors = filter_condition(node, picks, request.app.state.settings.tz)
    if condition is None:
        return None
    start = offset_of(request.query_params.get("offset"))
    return analytics.page(db, segment, condition, start, PAGE_SIZE)  # ClickHouse down: 503


def _members_context(
    request: Request,
    conn: Connection,
    user: User,
    segment: Segment,
    data: TenantData,
    on_copy: tuple[list[int], int] | None = None,
) -> dict[str, Any]:
    settings = request.app.state.settings
    picks = data.picks()
    node = filter_leaf(request.query_params, picks)
    where, errors = filter_clause(node, picks, settings.tz, user.tenant_id)
    errors = refusals(request, errors)
    start = offset_of(request.query_params.get("offset"))
    ids: list[int]
    if errors:
        ids, total = [], 0
    elif on_copy is not None and where is not None:
        ids, total = on_copy
    else:
        ids, total = store().page(conn, segment, where=where, offset=start, limit=PAGE_SIZE)
    fields, rows = member_table(conn, user.tenant_id, ids, settings.tz)
    return {
        "fields": fields,
        "members": rows,
        "paging": Paging(start, PAGE_SIZE, total),
        "filter_view": filter_view(node, picks),
        "filter_on": node is not None,
        "subjects": filter_subjects(picks),
        "filter_errors": errors,
        "filter_query": _filter_query(request),
    }


def _filter_query(request: Request) -> str:
    """The filter part of the query string, kept by the paging links."""
    kept = [(k, v) for k, v in request.query_params.multi_items() if k != "offset"]
    return urlencode(kept)


@router.get("/{segment_id}")
def segment_page(request: Request, segment_id: str, user: User, db: Db) -> Response:
    return segment_response(request, user, db, segment_id)


def segment_response(
    request: Request,
    user: User,
    db: Db,
    segment_id: str,
    *,
    status_code: int = 200,
    given: GivenForm | None = None,
) -> Response:
    """The segment page; ``given``: a static segment's add form as posted, with its errors."""
    on_copy = _page_on_copy(request, db, user, segment_id)
    with db.snapshot() as conn:  # the segment, its counts and its rows must agree
        segment = _segment(conn, user, segment_id)
        data = tenant_data(conn, user.tenant_id)
        info = build_info(conn, user.tenant_id, [segment.id]).get(segment.id)
        members = _members_context(request, conn, user, segment, data, on_copy)
    chart = segment_sizes(db, user.tenant_id, segment.id)
    changes = segment_changes(db, user.tenant_id, segment.id, None, SEGMENT_CHANGES)
    return render(
        request,
        "segment.html",
        user=user,
        status_code=status_code,
        segment=segment,
        static=segment.kind is SegmentKind.STATIC,
        given=given or GivenForm(),
        status=status_view(segment),
        info=info,
        fresh=_fresh(request, db, user, segment),
        type_words=TYPE_WORDS,
        words=_words(segment, data, request),
        chart=chart,
        changes=changes,
        **members,
    )


def _words(segment: Segment, data: TenantData, request: Request) -> Words:
    picks = data.picks()
    return tree_words(saved_tree(segment, picks), picks, translator(language(request)))


@router.get("/{segment_id}/status")
def segment_status(request: Request, segment_id: str, user: User, db: Db) -> Response:
    """The status box alone, polled while building; the page reloads once the build ends."""
    with db.read() as conn:
        segment = _segment(conn, user, segment_id)
        info = build_info(conn, user.tenant_id, [segment.id]).get(segment.id)
    status = status_view(segment)
    headers = {"HX-Refresh": "true"} if is_htmx(request) and not status.building else None
    return render(
        request,
        "partials/segment_status.html",
        user=user,
        segment=segment,
        status=status,
        info=info,
        fresh=_fresh(request, db, user, segment),
        headers=headers,
    )


def _fresh(request: Request, db: Db, user: User, segment: Segment) -> Any:
    settings = request.app.state.settings
    return freshness_views(db, user.tenant_id, [segment.id], settings).get(segment.id)


def member_ids_of(form: Form) -> list[int]:
    ids = []
    for raw in form.getlist("member_id"):
        if isinstance(raw, str) and raw.isascii() and raw.isdigit() and int(raw) <= MAX_ID:
            ids.append(int(raw))
    return ids


@router.post("/{segment_id}/members/remove")
def remove_selected(request: Request, segment_id: str, user: User, db: Db, form: Form) -> Response:
    ids = member_ids_of(form)
    if ids:
        try:
            tz = request.app.state.settings.tz
            removed = segment_service.remove_members(db, user.tenant_id, segment_id, ids, tz)
        except NotFound:
            raise UiNotFound() from None
        request.session["flash"] = ["{n} members removed from the segment.", {"n": removed}]
    else:
        request.session["flash"] = ["Select at least one member.", {}]
    back = form.get("back")
    target = back if isinstance(back, str) and back.startswith(f"/ui/segments/{segment_id}") else ""
    return redirect(request, target or f"/ui/segments/{segment_id}")


@router.post("/{segment_id}/rebuild")
def rebuild(request: Request, segment_id: str, user: User, db: Db, form: Form) -> Response:
    try:
        segment_service.rebuild_segment(db, user.tenant_id, segment_id)
    except NotFound:
        raise UiNotFound() from None
    request.session["flash"] = ["The segment is being rebuilt.", {}]
    return redirect(request, f"/ui/segments/{segment_id}")


@router.post("/{segment_id}/clone")
def clone(request: Request, segment_id: str, user: User, db: Db, form: Form) -> Response:
    """A computed copy of the segment, named "Copy of ...", then its page."""
    with db.read() as conn:
        source = _segment(conn, user, segment_id)
    name = translator(language(request))("Copy of {name}", name=source.name)
    try:
        copy = clone_segment(db, user.tenant_id, segment_id, name)
    except NotFound:
        raise UiNotFound() from None
    except DomainValidationError as exc:  # a static segment, or a name of invalid characters
        request.session["flash"] = ["Error: {reason}", {"reason": refusal(request, exc.message)}]
        return redirect(request, f"/ui/segments/{segment_id}")
    request.session["flash"] = ["Segment {name} created.", {"name": copy.name}]
    return redirect(request, f"/ui/segments/{copy.id}")


@router.get("/{segment_id}/delete")
def confirm_delete(request: Request, segment_id: str, user: User, db: Db) -> Response:
    with db.read() as conn:
        segment = _segment(conn, user, segment_id)
    return render(request, "segment_delete.html", user=user, segment=segment)


@router.post("/{segment_id}/delete")
def delete(request: Request, segment_id: str, user: User, db: Db, form: Form) -> Response:
    try:
        segment_service.delete_segment(db, user.tenant_id, segment_id)
    except NotFound:
        raise UiNotFound() from None
    except InUse as exc:  # another segment's condition refers to it
        request.session["flash"] = [
            "The segment cannot be deleted: {reason}",
            {"reason": refusal(request, exc.message)},
        ]
        return redirect(request, f"/ui/segments/{segment_id}")
    return redirect(request, "/ui/segments")


@router.get("/{segment_id}/export.csv")
def export(segment_id: str, user: User, db: Db) -> StreamingResponse:
    with db.read() as conn:
        segment = _segment(conn, user, segment_id)
    return csv_response(db, segment)
