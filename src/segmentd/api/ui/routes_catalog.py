"""The catalogue's changes: rename, show or hide a field and change a dropdown's options;
rename tags; create and rename campaigns (moving their status on); delete a field, a tag or
a campaign after a confirmation page.

Everything goes through ``services.catalog_service``, so the rules and their words are the
APIs': a refusal (``DomainValidationError``) is shown beside its input, and a delete a segment
blocks names the segment. Another tenant's ids are unknown ids: the UI's 404 page.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from functools import partial

from fastapi import APIRouter, Request
from fastapi.responses import Response

from ...domain.errors import DomainValidationError, InUse
from ...domain.fields import CampaignStatus, FieldDef, FieldType
from ...domain.ids import ascii_int
from ...services import catalog_service
from ...storage.campaigns import MAX_NAME as MAX_CAMPAIGN_NAME
from ...storage.campaigns import NEXT_STATUSES, Campaign, get_campaign, list_campaigns
from ...storage.field_defs import FieldChange, get_field
from ...storage.tags import Tag, get_tag, list_tags
from ...storage.tenants import default_list_id
from .deps import Config, Db, Form, UiNotFound, User, redirect
from .refusal_words import refusal
from .rendering import render

router = APIRouter(prefix="/ui", include_in_schema=False)
SHOWN = 200  # tags and campaigns listed on their pages


@dataclass
class Posted:
    """A catalogue form as posted, and its errors by slot (``err-<input>``)."""

    values: dict[str, str] = field(default_factory=dict)
    errors: dict[str, str] = field(default_factory=dict)

    def refused(
        self, request: Request, exc: DomainValidationError, slots: tuple[str, ...], default: str
    ) -> None:
        name = exc.path.split("[")[0]
        self.errors[f"err-{name if name in slots else default}"] = refusal(request, exc.message)


def _text(form: Form, name: str) -> str:
    value = form.get(name)
    return value.strip() if isinstance(value, str) else ""


def _id(raw: str) -> int:
    return ascii_int(raw) or 0  # 0 names nothing


# --- fields ------------------------------------------------------------------------------------


def _field(db: Db, user: User, raw: str) -> tuple[int, FieldDef]:
    """The tenant's custom field ``raw`` and its id (system fields have none)."""
    number = _id(raw)
    with db.read() as conn:
        found = get_field(conn, user.tenant_id, number)
    if found is None:
        raise UiNotFound()
    return number, found


def _field_form(
    request: Request, user: User, found: FieldDef, posted: Posted, status: int = 200
) -> Response:
    return render(
        request,
        "catalog_field_edit.html",
        user=user,
        status_code=status,
        field=found,
        dropdown=found.type is FieldType.DROPDOWN,
        posted=posted,
    )


@router.get("/fields/{field_id}/edit")
def edit_field_page(request: Request, field_id: str, user: User, db: Db) -> Response:
    _, found = _field(db, user, field_id)
    values = {
        "field_name": found.name,
        "options": "\n".join(found.options),
        "visible": "on" if found.visible else "",
    }
    return _field_form(request, user, found, Posted(values))


@router.post("/fields/{field_id}/edit")
def edit_field(
    request: Request, field_id: str, user: User, db: Db, form: Form, settings: Config
) -> Response:
    number, found = _field(db, user, field_id)
    posted = Posted({k: _text(form, k) for k in ("field_name", "options", "visible")})
    options = [line.strip() for line in posted.values["options"].splitlines() if line.strip()]
    change = FieldChange(
        name=posted.values["field_name"],
        visible=posted.values["visible"] == "on",
        options=options if found.type is FieldType.DROPDOWN else None,
    )
    try:
        saved = catalog_service.update_field(db, user.tenant_id, number, change, settings.tz)
    except DomainValidationError as exc:
        posted.refused(request, exc, ("field_name", "options"), "field_name")
        return _field_form(request, user, found, posted, status=400)
    if saved is None:
        raise UiNotFound()
    request.session["flash"] = ["Field {name} saved.", {"name": saved.name}]
    return redirect(request, "/ui/fields")


@router.get("/fields/{field_id}/delete")
def confirm_field_delete(request: Request, field_id: str, user: User, db: Db) -> Response:
    number, found = _field(db, user, field_id)
    return _delete_page(request, user, Doomed("field", number, found.name))


@router.post("/fields/{field_id}/delete")
def delete_field(request: Request, field_id: str, user: User, db: Db, form: Form) -> Response:
    number, found = _field(db, user, field_id)
    delete = partial(catalog_service.delete_field, db, user.tenant_id, number)
    return _deleted(request, user, Doomed("field", number, found.name), delete)


@dataclass(frozen=True)
class Doomed:
    """What a delete page is about: its kind ("field", "tag", "campaign"), id and name."""

    kind: str
    id: int
    name: str


# The flash of each kind deleted (literal, so the French catalogue finds each phrase).
_DELETED = {
    "field": "Field {name} deleted.",
    "tag": "Tag {name} deleted.",
    "campaign": "Campaign {name} deleted.",
}


def _deleted(request: Request, user: User, doomed: Doomed, delete: Callable[[], bool]) -> Response:
    """Run ``delete``: back to the kind's page, or the delete page again with its refusal."""
    try:
        deleted = delete()
    except DomainValidationError as exc:
        return _delete_page(request, user, doomed, exc)
    if not deleted:
        raise UiNotFound()
    request.session["flash"] = [_DELETED[doomed.kind], {"name": doomed.name}]
    return redirect(request, f"/ui/{doomed.kind}s")


def _delete_page(
    request: Request, user: User, doomed: Doomed, refused: DomainValidationError | None = None
) -> Response:
    return render(
        request,
        "catalog_delete.html",
        user=user,
        status_code=409 if refused else 200,
        kind=doomed.kind,
        thing_id=doomed.id,
        name=doomed.name,
        refusal=refusal(request, refused.message) if refused else "",
        in_use=isinstance(refused, InUse),  # segments to change first, named in the refusal
        back=f"/ui/{doomed.kind}s",
    )


# --- tags --------------------------------------------------------------------------------------


def _tag(db: Db, user: User, raw: str) -> Tag:
    with db.read() as conn:
        found = get_tag(conn, user.tenant_id, _id(raw))
    if found is None:
        raise UiNotFound()
    return found


def _tags_page(
    request: Request, user: User, db: Db, posted: Posted | None = None, status: int = 200
) -> Response:
    with db.read() as conn:
        tags, total = list_tags(conn, user.tenant_id, 0, SHOWN)
    return render(
        request,
        "tags.html",
        user=user,
        status_code=status,
        tags=tags,
        total=total,
        shown=SHOWN,
        posted=posted or Posted(),
    )


@router.get("/tags")
def tags_page(request: Request, user: User, db: Db) -> Response:
    return _tags_page(request, user, db)


@router.post("/tags")
def create_tag(request: Request, user: User, db: Db, form: Form) -> Response:
    name = _text(form, "new_tag_name")
    try:
        created = catalog_service.create_tag(db, user.tenant_id, name)
    except DomainValidationError as exc:
        posted = Posted({"new_tag_name": name})
        posted.errors["err-new_tag_name"] = refusal(request, exc.message)
        return _tags_page(request, user, db, posted, status=400)
    request.session["flash"] = ["Tag {name} created.", {"name": created.name}]
    return redirect(request, "/ui/tags")


@router.post("/tags/{tag_id}/rename")
def rename_tag(request: Request, tag_id: str, user: User, db: Db, form: Form) -> Response:
    found = _tag(db, user, tag_id)
    name = _text(form, "tag_name")
    try:
        saved = catalog_service.rename_tag(db, user.tenant_id, found.id, name)
    except DomainValidationError as exc:
        posted = Posted({"tag_id": str(found.id), "tag_name": name})
        posted.errors[f"err-tag-{found.id}"] = refusal(request, exc.message)
        return _tags_page(request, user, db, posted, status=400)
    if saved is None:
        raise UiNotFound()
    request.session["flash"] = ["Tag {name} saved.", {"name": saved.name}]
    return redirect(request, "/ui/tags")


@router.get("/tags/{tag_id}/delete")
def confirm_tag_delete(request: Request, tag_id: str, user: User, db: Db) -> Response:
    found = _tag(db, user, tag_id)
    return _delete_page(request, user, Doomed("tag", found.id, found.name))


@router.post("/tags/{tag_id}/delete")
def delete_tag(request: Request, tag_id: str, user: User, db: Db, form: Form) -> Response:
    found = _tag(db, user, tag_id)
    delete = partial(catalog_service.delete_tag, db, user.tenant_id, found.id)
    return _deleted(request, user, Doomed("tag", found.id, found.name), delete)


# --- campaigns ---------------------------------------------------------------------------------


def _campaigns_page(
    request: Request, user: User, db: Db, posted: Posted | None = None, status: int = 200
) -> Response:
    with db.read() as conn:
        campaigns, total = list_campaigns(conn, user.tenant_id, 0, SHOWN)
    return render(
        request,
        "campaigns.html",
        user=user,
        status_code=status,
        campaigns=campaigns,
        total=total,
        shown=SHOWN,
        statuses=[str(s) for s in CampaignStatus],
        next_statuses={c.id: _next(c) for c in campaigns},
        max_name=MAX_CAMPAIGN_NAME,
        posted=posted or Posted({"status": "draft"}),
    )


def _next(campaign: Campaign) -> list[str]:
    """The statuses a campaign may take, its own first."""
    others = sorted(str(s) for s in NEXT_STATUSES[campaign.status] if s != campaign.status)
    return [str(campaign.status), *others]


@router.get("/campaigns")
def campaigns_page(request: Request, user: User, db: Db) -> Response:
    return _campaigns_page(request, user, db)


@router.post("/campaigns")
def create_campaign(request: Request, user: User, db: Db, form: Form) -> Response:
    posted = Posted({k: _text(form, k) for k in ("campaign_name", "status")})
    try:
        status = catalog_service.checked_status(posted.values["status"])
        with db.write() as conn:
            list_id = default_list_id(conn, user.tenant_id)
            created = catalog_service.create_campaign_in(
                conn, user.tenant_id, posted.values["campaign_name"], status, list_id
            )
    except DomainValidationError as exc:
        posted.refused(request, exc, ("campaign_name", "status"), "campaign_name")
        return _campaigns_page(request, user, db, posted, status=400)
    request.session["flash"] = ["Campaign {name} created.", {"name": created.name}]
    return redirect(request, "/ui/campaigns")


def _campaign(db: Db, user: User, raw: str) -> Campaign:
    with db.read() as conn:
        found = get_campaign(conn, user.tenant_id, _id(raw))
    if found is None:
        raise UiNotFound()
    return found


@router.post("/campaigns/{campaign_id}/edit")
def edit_campaign(request: Request, campaign_id: str, user: User, db: Db, form: Form) -> Response:
    found = _campaign(db, user, campaign_id)
    name, raw_status = _text(form, "campaign_name"), _text(form, "status")
    try:
        status = catalog_service.checked_status(raw_status)
        saved = catalog_service.update_campaign(db, user.tenant_id, found.id, name, status)
    except DomainValidationError as exc:
        posted = Posted({"campaign_id": str(found.id), "campaign_name": name})
        posted.errors[f"err-campaign-{found.id}"] = refusal(request, exc.message)
        return _campaigns_page(request, user, db, posted, status=400)
    if saved is None:
        raise UiNotFound()
    request.session["flash"] = ["Campaign {name} saved.", {"name": saved.name}]
    return redirect(request, "/ui/campaigns")


@router.get("/campaigns/{campaign_id}/delete")
def confirm_campaign_delete(request: Request, campaign_id: str, user: User, db: Db) -> Response:
    found = _campaign(db, user, campaign_id)
    return _delete_page(request, user, Doomed("campaign", found.id, found.name))


@router.post("/campaigns/{campaign_id}/delete")
def delete_campaign(request: Request, campaign_id: str, user: User, db: Db, form: Form) -> Response:
    found = _campaign(db, user, campaign_id)
    delete = partial(catalog_service.delete_campaign, db, user.tenant_id, found.id)
    return _deleted(request, user, Doomed("campaign", found.id, found.name), delete)
