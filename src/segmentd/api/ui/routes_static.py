"""Static segments on the page: create one (name, list), give it members by email or member
id or by a CSV of emails, take selected members back after a confirmation.

Every change goes through the static segment use cases (``services.static_segments``), so the
errors read word for word as the API's, beside the input they are about.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import Response
from starlette.datastructures import UploadFile

from ...domain.errors import DomainValidationError, NotFound
from ...imports.email_column import MAX_BYTES
from ...services.static_segments import (
    StaticDraft,
    add_static_members,
    add_static_members_csv,
    create_static_segment,
    remove_static_members,
)
from ...storage.segments import get_segment
from .deps import Config, Db, Form, UiNotFound, User, redirect
from .given_members_form import (
    ENTRIES,
    FILE,
    GivenForm,
    added_words,
    error_input,
    read_entries,
    removed_words,
)
from .refusal_words import refusal
from .rendering import render
from .routes_segments import member_ids_of, segment_response
from .views import member_table, tenant_data

router = APIRouter(prefix="/ui/segments", include_in_schema=False)
FORM_SLOTS = ("segment_name", "list_id")


def _new_page(
    request: Request, user: User, db: Db, form: dict[str, str], errors: dict[str, str]
) -> Response:
    with db.read() as conn:
        lists = tenant_data(conn, user.tenant_id).lists
    return render(
        request,
        "static_new.html",
        user=user,
        status_code=400 if errors else 200,
        lists=lists,
        form=form,
        errors=errors,
    )


@router.get("/new-static")
def new_static_page(request: Request, user: User, db: Db) -> Response:
    return _new_page(request, user, db, {}, {})


@router.post("/new-static")
def create_static(request: Request, user: User, db: Db, form: Form) -> Response:
    values = {k: str(form.get(k) or "") for k in ("segment_name", "list_id", ENTRIES)}
    entries = read_entries(values[ENTRIES])
    draft = StaticDraft(
        name=values["segment_name"],
        list_id=values["list_id"] or None,
        emails=entries.emails,
        member_ids=entries.member_ids,
    )
    try:
        created = create_static_segment(db, user.tenant_id, draft)
    except DomainValidationError as exc:
        slot = exc.path if exc.path in FORM_SLOTS else ENTRIES
        return _new_page(request, user, db, values, {f"err-{slot}": refusal(request, exc.message)})
    request.session["flash"] = ["Static segment {name} created.", {"name": created.name}]
    return redirect(request, f"/ui/segments/{created.id}")


def _refused(
    request: Request, user: User, db: Db, segment_id: str, exc: DomainValidationError, text: str
) -> Response:
    if exc.path == "segment_id":  # a dynamic segment: its page offers no such form
        request.session["flash"] = ["Error: {reason}", {"reason": refusal(request, exc.message)}]
        return redirect(request, f"/ui/segments/{segment_id}")
    given = GivenForm(text, {f"err-{error_input(exc)}": refusal(request, exc.message)})
    return segment_response(request, user, db, segment_id, status_code=400, given=given)


@router.post("/{segment_id}/static/add")
def add_members(
    request: Request, segment_id: str, user: User, db: Db, settings: Config, form: Form
) -> Response:
    text = str(form.get(ENTRIES) or "")
    entries = read_entries(text)
    try:
        result = add_static_members(
            db,
            user.tenant_id,
            segment_id,
            settings.tz,
            emails=entries.emails,
            member_ids=entries.member_ids,
        )
    except NotFound:
        raise UiNotFound() from None
    except DomainValidationError as exc:
        return _refused(request, user, db, segment_id, exc, text)
    request.session["flash"] = added_words(result)
    return redirect(request, f"/ui/segments/{segment_id}")


@router.post("/{segment_id}/static/upload")
def upload_members(
    request: Request, segment_id: str, user: User, db: Db, settings: Config, form: Form
) -> Response:
    upload = form.get(FILE)
    # One byte beyond the limit is enough for the use case to refuse the file in its words.
    data = upload.file.read(MAX_BYTES + 1) if isinstance(upload, UploadFile) else b""
    try:
        if not data:
            raise DomainValidationError(FILE, "choose a CSV file of emails")
        result = add_static_members_csv(db, user.tenant_id, segment_id, data, settings.tz)
    except NotFound:
        raise UiNotFound() from None
    except DomainValidationError as exc:
        return _refused(request, user, db, segment_id, exc, "")
    request.session["flash"] = added_words(result)
    return redirect(request, f"/ui/segments/{segment_id}")


@router.post("/{segment_id}/static/remove")
def remove_members(
    request: Request, segment_id: str, user: User, db: Db, settings: Config, form: Form
) -> Response:
    """Without ``confirmed``: the confirmation page naming the selected members."""
    with db.read() as conn:  # another tenant's segment is not found, whatever the form holds
        if get_segment(conn, user.tenant_id, segment_id) is None:
            raise UiNotFound()
    ids = member_ids_of(form)
    if not ids:
        request.session["flash"] = ["Select at least one member.", {}]
        return redirect(request, f"/ui/segments/{segment_id}")
    if form.get("confirmed") != "1":
        return _confirm_page(request, user, db, segment_id, ids, settings.tz)
    try:
        result = remove_static_members(db, user.tenant_id, segment_id, settings.tz, member_ids=ids)
    except NotFound:
        raise UiNotFound() from None
    except DomainValidationError as exc:
        return _refused(request, user, db, segment_id, exc, "")
    request.session["flash"] = removed_words(result)
    return redirect(request, f"/ui/segments/{segment_id}")


def _confirm_page(
    request: Request, user: User, db: Db, segment_id: str, ids: list[int], tz: Any
) -> Response:
    with db.read() as conn:
        segment = get_segment(conn, user.tenant_id, segment_id)
        if segment is None:
            raise UiNotFound()
        _fields, members = member_table(conn, user.tenant_id, ids, tz)
    return render(request, "static_remove.html", user=user, segment=segment, members=members)
