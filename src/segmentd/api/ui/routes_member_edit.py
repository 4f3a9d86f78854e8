"""A member changed by hand from its page: email, name, phone, fields and tags (a form), unsubscribe
and subscribe again, delete after a confirmation (``services.member_edits``, the API's writes:
its rules and messages, segments and history following). Refusals show beside their input."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import Response

from ...domain.errors import DomainValidationError, NotFound
from ...services.member_edits import (
    MemberEdit,
    delete_member,
    edit_member,
    member_of,
    set_subscribed,
)
from .deps import Config, Db, Form, UiNotFound, User, redirect
from .refusal_words import refusal
from .rendering import render
from .routes_history import member_id_of
from .views import member_table

router = APIRouter(prefix="/ui/members", include_in_schema=False)


def _text(form: Form, name: str) -> str:
    value = form.get(name)
    return value.strip() if isinstance(value, str) else ""


def _tags(raw: str) -> list[str]:
    """One tag a line; blank lines are none."""
    return [line.strip() for line in raw.splitlines() if line.strip()]


def _edit_page(
    request: Request,
    user: User,
    db: Db,
    settings: Config,
    member_id: int,
    posted: dict[str, Any] | None = None,
    errors: dict[str, str] | None = None,
) -> Response:
    with db.read() as conn:
        fields, rows = member_table(conn, user.tenant_id, [member_id], settings.tz)
    if not rows:
        raise UiNotFound()
    member = rows[0]
    values = posted or {
        "email": member["email"],
        "name": member.get("name") or "",
        "phone": member.get("phone") or "",
        "fields": {f.name: member["fields"].get(f.name) or "" for f in fields},
        "tags": "\n".join(member.get("tag_names") or []),
    }
    return render(
        request,
        "member_edit.html",
        status_code=400 if errors else 200,
        user=user,
        member=member,
        fields=fields,
        values=values,
        errors=errors or {},
    )


@router.get("/{member_id}/edit")
def edit_form(request: Request, member_id: str, user: User, db: Db, settings: Config) -> Response:
    return _edit_page(request, user, db, settings, member_id_of(member_id))


def _slot(path: str, field_names: list[str]) -> str:
    """The error slot beside the input a refusal names (the form's top when it names none)."""
    if path.startswith("fields."):
        name = path[len("fields.") :]
        index = next((i for i, n in enumerate(field_names) if n.casefold() == name.casefold()), -1)
        return f"err-field-{index}" if index >= 0 else "err-form"
    return f"err-{path}" if path in ("email", "name", "phone", "tags") else "err-form"


@router.post("/{member_id}/edit")
def edit(
    request: Request, member_id: str, user: User, db: Db, settings: Config, form: Form
) -> Response:
    wanted = member_id_of(member_id)
    names = [name for name in form.getlist("field_name") if isinstance(name, str)]
    values = [value for value in form.getlist("field_value") if isinstance(value, str)]
    fields = {n: v.strip() for n, v in zip(names, values, strict=False)}
    tags = _text(form, "tags")
    email = _text(form, "email") if "email" in form else None  # none sent: kept
    edit = MemberEdit(_text(form, "name"), _text(form, "phone"), fields, _tags(tags), email)
    posted = {
        "email": email or "",
        "name": edit.name,
        "phone": edit.phone,
        "fields": fields,
        "tags": tags,
    }
    try:
        edit_member(db, user.tenant_id, wanted, edit, settings.tz)
    except NotFound:
        raise UiNotFound() from None
    except DomainValidationError as exc:
        errors = {_slot(exc.path, names): refusal(request, exc.message)}
        return _edit_page(request, user, db, settings, wanted, posted, errors)
    request.session["flash"] = ["Member saved.", {}]
    return redirect(request, f"/ui/members/{wanted}")


@router.post("/{member_id}/subscription")
def subscription(
    request: Request, member_id: str, user: User, db: Db, settings: Config, form: Form
) -> Response:
    wanted = member_id_of(member_id)
    subscribed = form.get("subscribed") == "1"
    try:
        set_subscribed(db, user.tenant_id, wanted, subscribed, settings.tz)
    except NotFound:
        raise UiNotFound() from None
    said = "Member subscribed again." if subscribed else "Member unsubscribed."
    request.session["flash"] = [said, {}]
    return redirect(request, f"/ui/members/{wanted}")


@router.get("/{member_id}/delete")
def confirm_delete(request: Request, member_id: str, user: User, db: Db) -> Response:
    try:
        member = member_of(db, user.tenant_id, member_id_of(member_id))
    except NotFound:
        raise UiNotFound() from None
    return render(request, "member_delete.html", user=user, member=member)


@router.post("/{member_id}/delete")
def delete(request: Request, member_id: str, user: User, db: Db, form: Form) -> Response:
    try:
        gone = delete_member(db, user.tenant_id, member_id_of(member_id))
    except NotFound:
        raise UiNotFound() from None
    request.session["flash"] = ["Member {email} deleted.", {"email": gone.email}]
    return redirect(request, f"/ui/members?list={gone.list_id}")
