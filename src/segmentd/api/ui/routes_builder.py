"""The segment builder: new and edit pages, row and condition-list fragments, the live count.

Saving runs the API's own checks in the API's order (name, type, list, condition), so every
error reads word for word as the API would answer it, beside the input it is about.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import Response
from sqlalchemy.engine import Connection

from ...domain.errors import DomainValidationError, NotFound
from ...domain.fields import Catalog
from ...domain.validation import MAX_CONDITIONS, SegmentType, flat_condition
from ...services import segment_service
from ...services.segment_rules import checked_list, checked_name
from ...services.segment_service import SegmentDraft, count_condition
from ...storage.db import Database
from ...storage.segments import Segment, get_segment
from .builder import (
    Row,
    all_slots,
    blank_row,
    error_parts,
    error_slot,
    raw_condition,
    relation_of,
    renumbered,
    row_from_form,
    row_view,
    rows_from_condition,
    rows_from_form,
    segment_type_of,
)
from .deps import Config, Db, Form, UiNotFound, User, redirect
from .rendering import render
from .views import TenantData, tenant_data

router = APIRouter(prefix="/ui", include_in_schema=False)
CHANGED = {"HX-Trigger-After-Settle": "builder-changed"}


@dataclass
class Draft:
    """The builder's state: what the form holds, and the errors by slot id."""

    name: str = ""
    segment_type: SegmentType = SegmentType.BY_FIELD
    relation: str = "and"
    list_id: str = ""
    rows: list[Row] = field(default_factory=lambda: [Row(0)])
    segment_id: str | None = None
    errors: dict[str, str] = field(default_factory=dict)

    def condition(self) -> dict[str, Any]:
        return raw_condition(self.relation, self.rows, self.segment_type)


def _draft_from_form(form: Form, data: TenantData, segment_id: str | None = None) -> Draft:
    segment_type = segment_type_of(str(form.get("type") or "0"))
    return Draft(
        name=str(form.get("segment_name") or ""),
        segment_type=segment_type,
        relation=relation_of(str(form.get("relation") or "")),
        list_id=str(form.get("list_id") or ""),
        rows=rows_from_form(form, data.catalog, segment_type),
        segment_id=segment_id,
    )


def _draft_from_segment(segment: Segment, catalog: Catalog) -> Draft:
    condition = flat_condition(segment.condition, catalog)
    rows = rows_from_condition(condition) or [Row(0)]
    return Draft(
        name=segment.name,
        segment_type=segment_type_of(str(segment.segment_type)),
        relation=relation_of(str(condition.get("relation", ""))),
        list_id=str(segment.list_id),
        rows=rows,
        segment_id=segment.id,
    )


def _page(
    request: Request, user: User, draft: Draft, data: TenantData, status: int = 200
) -> Response:
    return render(
        request,
        "builder.html",
        user=user,
        status_code=status,
        draft=draft,
        views=[row_view(row, data.catalog, data.campaigns) for row in draft.rows],
        lists=data.lists,
        max_conditions=MAX_CONDITIONS,
    )


def _owned(conn: Connection, user: User, segment_id: str) -> Segment:
    segment = get_segment(conn, user.tenant_id, segment_id)
    if segment is None:
        raise UiNotFound()
    return segment


@router.get("/segments/new")
def new_page(request: Request, user: User, db: Db) -> Response:
    with db.read() as conn:
        data = tenant_data(conn, user.tenant_id)
    return _page(request, user, Draft(), data)


@router.get("/segments/{segment_id}/edit")
def edit_page(request: Request, segment_id: str, user: User, db: Db) -> Response:
    with db.read() as conn:
        segment = _owned(conn, user, segment_id)
        data = tenant_data(conn, user.tenant_id)
    return _page(request, user, _draft_from_segment(segment, data.catalog), data)


def _form_type(raw: object) -> object:
    """The form's type as the API would receive it: 0 or 1 as integers, anything else as is."""
    return int(raw) if raw in ("0", "1") else raw


def _save(db: Database, user: User, draft: Draft, form: Form, tz: Any) -> str:
    """Create or update; returns the segment id. Raises the API's errors."""
    wanted = SegmentDraft(
        name=draft.name,
        segment_type=_form_type(form.get("type")),
        condition=draft.condition(),
        list_id=draft.list_id,
    )
    if draft.segment_id is None:
        return segment_service.create_segment(db, user.tenant_id, wanted, tz).id
    try:
        segment_service.update_segment(db, user.tenant_id, draft.segment_id, wanted, tz)
    except NotFound:
        raise UiNotFound() from None
    return draft.segment_id


def _submit(
    request: Request, user: User, db: Db, form: Form, tz: Any, segment_id: str | None
) -> Response:
    with db.read() as conn:
        if segment_id is not None:
            _owned(conn, user, segment_id)
        data = tenant_data(conn, user.tenant_id)
    draft = _draft_from_form(form, data, segment_id)
    action = str(form.get("action") or "")
    if action:  # add or remove a row without JavaScript: the page again, nothing saved
        return _page(request, user, replace(draft, rows=_changed_rows(draft, action)), data)
    try:
        saved = _save(db, user, draft, form, tz)
    except DomainValidationError as exc:
        path, message = error_parts(exc)
        draft.errors[error_slot(path, draft.rows)] = message
        return _page(request, user, draft, data, status=400)
    return redirect(request, f"/ui/segments/{saved}")


@router.post("/segments/new")
def create(request: Request, user: User, db: Db, settings: Config, form: Form) -> Response:
    return _submit(request, user, db, form, settings.tz, None)


@router.post("/segments/{segment_id}/edit")
def update(
    request: Request, segment_id: str, user: User, db: Db, settings: Config, form: Form
) -> Response:
    return _submit(request, user, db, form, settings.tz, segment_id)


# --- fragments ---


def _changed_rows(draft: Draft, action: str) -> list[Row]:
    """The rows after the button pressed: add one, remove one, or start over for a new type."""
    rows = draft.rows
    if action == "add" and len(rows) < MAX_CONDITIONS:
        rows = [*rows, blank_row(len(rows), draft.segment_type)]
    elif action.startswith("remove-") and len(rows) > 1:
        rows = [row for row in rows if f"remove-{row.index}" != action]
    elif action == "type" or not rows:
        rows = [blank_row(0, draft.segment_type)]
    return renumbered(rows)


@router.post("/builder/conditions")
def conditions_fragment(request: Request, user: User, db: Db, form: Form) -> Response:
    """The condition rows after adding, removing, or changing the segment type."""
    with db.read() as conn:
        data = tenant_data(conn, user.tenant_id)
    draft = _draft_from_form(form, data)
    draft = replace(draft, rows=_changed_rows(draft, str(form.get("action") or "")))
    return render(
        request,
        "partials/conditions.html",
        user=user,
        draft=draft,
        views=[row_view(row, data.catalog, data.campaigns) for row in draft.rows],
        max_conditions=MAX_CONDITIONS,
        headers=CHANGED,
    )


@router.get("/builder/row")
def row_fragment(
    request: Request,
    user: User,
    db: Db,
    index: int = 0,
    type: str = "0",
    mode: str = "builder",
    removable: str = "0",
) -> Response:
    """One row again, after its field changed: the operators and value input of the new field."""
    with db.read() as conn:
        data = tenant_data(conn, user.tenant_id)
    segment_type = segment_type_of(type)
    index = min(max(index, 0), MAX_CONDITIONS - 1)
    row = row_from_form(request.query_params, index, data.catalog, segment_type)
    return render(
        request,
        "partials/row.html",
        user=user,
        view=row_view(row, data.catalog, data.campaigns),
        seg_type=int(segment_type),
        errors={},
        mode="filter" if mode == "filter" else "builder",
        removable=removable == "1",
        headers=CHANGED,
    )


@router.post("/builder/preview")
def preview_fragment(
    request: Request, user: User, db: Db, settings: Config, form: Form
) -> Response:
    """The live count, and every error slot refreshed (out of band) beside its input."""
    with db.read() as conn:
        data = tenant_data(conn, user.tenant_id)
        segment_id = form.get("segment_id")
        editing = _owned(conn, user, segment_id) if isinstance(segment_id, str) else None
        draft = _draft_from_form(form, data, editing.id if editing else None)
        count = _count(conn, user, draft, editing, settings.tz)
    return render(
        request,
        "partials/preview.html",
        user=user,
        count=count,
        errors=draft.errors,
        slots=all_slots(draft.rows),
    )


def _count(
    conn: Connection, user: User, draft: Draft, editing: Segment | None, tz: Any
) -> int | None:
    """The member count, or None with the errors recorded in the draft."""
    try:
        if draft.name:
            checked_name(draft.name)
    except DomainValidationError as exc:
        path, message = error_parts(exc)
        draft.errors[error_slot(path, draft.rows)] = message
    try:
        if editing is not None:
            list_id = editing.list_id
        else:
            list_id = checked_list(conn, user.tenant_id, draft.list_id)
        return count_condition(
            conn,
            user.tenant_id,
            list_id,
            draft.segment_type,
            draft.condition(),
            tz,
            excluded_by=editing.id if editing else None,
        )
    except DomainValidationError as exc:
        path, message = error_parts(exc)
        draft.errors[error_slot(path, draft.rows)] = message
        return None
