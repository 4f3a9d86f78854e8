"""The segment builder: new and edit pages, the tree and row fragments, the live count and
the tree in plain words.

Saving and counting go through the native form's use cases (``services.native_segments``),
so every error reads word for word as the native API would answer it, beside the input it
is about.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import Response
from sqlalchemy.engine import Connection

from ...domain.conditions import MAX_DEPTH, MAX_ITEMS, MAX_LEAVES
from ...domain.errors import DomainValidationError, NotFound
from ...services.native_segments import (
    KEEP,
    NativeChange,
    NativeDraft,
    change_native_segment,
    count_native_in,
    create_native_segment,
)
from ...services.segment_rules import checked_list, checked_name
from ...storage.db import Database
from ...storage.segments import Segment, get_segment
from .builder import Draft, draft_from_form, draft_from_segment, leaf_view, tree_view
from .deps import Config, Db, Form, UiNotFound, User, redirect
from .error_slots import all_slots, error_parts, error_slot
from .i18n import translator
from .member_filter import LEFT_OUT
from .refusal_words import refusals
from .rendering import language, render
from .rows.leaf_row import LeafInputs, Picks
from .rows.leaf_rows import read_leaf, subject_groups
from .tree_form import LeafNode, edited, is_node_id, new_tree
from .tree_words import tree_words
from .views import TenantData, tenant_data

router = APIRouter(prefix="/ui", include_in_schema=False)
CHANGED = {"HX-Trigger-After-Settle": "builder-changed"}
LIMITS = {"max_depth": MAX_DEPTH, "max_items": MAX_ITEMS, "max_leaves": MAX_LEAVES}


def _page(
    request: Request,
    user: User,
    draft: Draft,
    data: TenantData,
    picks: Picks,
    status: int = 200,
) -> Response:
    draft.errors.update(refusals(request, draft.errors))
    return render(
        request,
        "builder.html",
        user=user,
        status_code=status,
        draft=draft,
        tree=tree_view(draft.tree, picks),
        subjects=subject_groups(picks),
        words=tree_words(draft.tree, picks, translator(language(request))),
        lists=data.lists,
        limits=LIMITS,
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
    picks = data.picks()
    return _page(request, user, Draft(new_tree(picks)), data, picks)


@router.get("/segments/{segment_id}/edit")
def edit_page(request: Request, segment_id: str, user: User, db: Db) -> Response:
    with db.read() as conn:
        segment = _owned(conn, user, segment_id)
        data = tenant_data(conn, user.tenant_id)
    picks = data.picks(segment.id)
    return _page(request, user, draft_from_segment(segment, picks), data, picks)


def _save(db: Database, user: User, draft: Draft, tz: Any) -> str:
    """Create or update; returns the segment id. Raises the API's errors."""
    if draft.segment_id is None:
        wanted = NativeDraft(name=draft.name, condition=draft.condition(), list_id=draft.list_id)
        return create_native_segment(db, user.tenant_id, wanted, tz, unique_name=False).id
    name = KEEP if draft.name is None else draft.name
    change = NativeChange(name=name, condition=draft.condition())
    try:
        change_native_segment(db, user.tenant_id, draft.segment_id, change, tz, unique_name=False)
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
    picks = data.picks(segment_id)
    draft = draft_from_form(form, picks, segment_id)
    action = str(form.get("action") or "")
    if action:  # a tree button without JavaScript: the page again, nothing saved
        draft = replace(draft, tree=edited(draft.tree, action, picks))
        return _page(request, user, draft, data, picks)
    try:
        saved = _save(db, user, draft, tz)
    except DomainValidationError as exc:
        path, message = error_parts(exc)
        draft.errors[error_slot(path, draft.tree)] = message
        return _page(request, user, draft, data, picks, status=400)
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


def _editing(raw: object) -> str | None:
    return raw if isinstance(raw, str) and raw else None


@router.post("/builder/conditions")
def conditions_fragment(request: Request, user: User, db: Db, form: Form) -> Response:
    """The tree after a button: a condition or a group added, a node removed."""
    with db.read() as conn:
        data = tenant_data(conn, user.tenant_id)
    picks = data.picks(_editing(form.get("segment_id")))
    draft = draft_from_form(form, picks)
    tree = edited(draft.tree, str(form.get("action") or ""), picks)
    return render(
        request,
        "partials/conditions.html",
        user=user,
        draft=replace(draft, tree=tree, segment_id=picks.editing),
        tree=tree_view(tree, picks),
        subjects=subject_groups(picks),
        limits=LIMITS,
        headers=CHANGED,
    )


@router.get("/builder/row")
def row_fragment(
    request: Request,
    user: User,
    db: Db,
    node: str = "r-0",
    mode: str = "builder",
    editing: str = "",
) -> Response:
    """One condition again, after its picker or operator changed: the inputs it needs now."""
    if not is_node_id(node) and node != "f":
        raise UiNotFound()
    with db.read() as conn:
        data = tenant_data(conn, user.tenant_id)
    picks = data.picks(_editing(editing))
    filtering = mode == "filter"
    leave_out = LEFT_OUT if filtering else ()
    leaf = read_leaf(LeafInputs(request.query_params, node), picks, leave_out)
    return render(
        request,
        "partials/leaf_body.html",
        user=user,
        leaf=leaf_view(LeafNode(node, leaf), picks),
        subjects=subject_groups(picks, leave_out),
        errors={},
        mode="filter" if filtering else "builder",
        editing=picks.editing or "",
        headers=CHANGED,
    )


@router.post("/builder/preview")
def preview_fragment(
    request: Request, user: User, db: Db, settings: Config, form: Form
) -> Response:
    """The live count, the tree in plain words, and every error slot refreshed (out of band)
    beside its input."""
    with db.snapshot() as conn:  # the count reads one state
        data = tenant_data(conn, user.tenant_id)
        segment_id = form.get("segment_id")
        editing = _owned(conn, user, segment_id) if isinstance(segment_id, str) else None
        picks = data.picks(editing.id if editing else None)
        draft = draft_from_form(form, picks, editing.id if editing else None)
        count = _count(conn, user, draft, editing, picks, settings.tz)
    return render(
        request,
        "partials/preview.html",
        user=user,
        count=count,
        errors=refusals(request, draft.errors),
        slots=all_slots(draft.tree),
        words=tree_words(draft.tree, picks, translator(language(request))),
    )


def _count(
    conn: Connection, user: User, draft: Draft, editing: Segment | None, picks: Picks, tz: Any
) -> int | None:
    """The member count, or None with the errors recorded in the draft."""
    try:
        if draft.name:
            checked_name(draft.name)
    except DomainValidationError as exc:
        path, message = error_parts(exc)
        draft.errors[error_slot(path, draft.tree)] = message
    try:
        if editing is not None:
            list_id = editing.list_id
        else:
            list_id = checked_list(conn, user.tenant_id, draft.list_id)
        return count_native_in(
            conn, user.tenant_id, list_id, draft.counted_condition(), tz, editing
        )
    except DomainValidationError as exc:
        path, message = error_parts(exc)
        draft.errors[error_slot(path, draft.counted_tree())] = message
        return None
