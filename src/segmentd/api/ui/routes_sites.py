"""Sites: create one (its Commanders Act number kept), set its allowed origins, the JSONP
snippet to paste into a page (a copy button), and the site token (reveal, rotate).

Refusals are ``site_service``'s and ``api.common.origins``' own words, beside their input."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import Response
from sqlalchemy.engine import Connection

from ...domain.errors import DomainValidationError, NotFound
from ...domain.ids import ascii_int
from ...secrets import SealError
from ...services import site_service
from ...storage.sites import Site
from ..common.origins import MAX_ORIGINS, checked_origins
from ..common.site_access import LOOKUP_PREFIX, site_access
from .deps import Db, Form, UiNotFound, User, is_htmx, redirect
from .refusal_words import refusal
from .rendering import render

router = APIRouter(prefix="/ui/sites", include_in_schema=False)
CALLBACK = "tC_funcEngage"  # the callback name of Commanders Act's own example


def lookup_urls(request: Request, site_id: int) -> dict[str, str]:
    """The look-up URLs of a site on this server, as the page's visitors will call them."""
    base = str(request.base_url).rstrip("/") + LOOKUP_PREFIX
    return {
        "jsonp": f"{base}/segments?site={site_id}&callback={CALLBACK}",
        "list": f"{base}/segments/list?site={site_id}&token=",
    }


def _site_number(site_id: str) -> int:
    valid = site_id.isascii() and site_id.isdigit() and len(site_id) < 19
    return int(site_id) if valid else 0  # 0 names no site


def _owned(conn: Connection, user: User, site_id: str) -> Site:
    try:
        return site_service.owned_site(conn, user.tenant_id, _site_number(site_id))
    except NotFound:
        raise UiNotFound() from None


def _site_token(request: Request, user: User, site_id: str, rotate: bool) -> tuple[Site, str]:
    access = site_access(request)
    number = _site_number(site_id)
    try:
        return site_service.site_token(
            access.db, user.tenant_id, number, access.keys, rotate=rotate
        )
    except NotFound:
        raise UiNotFound() from None


def _page(
    request: Request,
    user: User,
    db: Db,
    revealed: dict[int, str],
    status: int = 200,
    **extra: Any,
) -> Response:
    sites = site_service.list_sites(db, user.tenant_id)
    context: dict[str, Any] = {"form": {}, "errors": {}, "origins_posted": {}}
    context.update(extra)
    return render(
        request,
        "sites.html",
        user=user,
        status_code=status,
        sites=[(site, lookup_urls(request, site.id)) for site in sites],
        revealed=revealed,
        callback=CALLBACK,
        max_name=site_service.MAX_SITE_NAME,
        max_number=site_service.MAX_CHOSEN_SITE_ID,
        max_origins=MAX_ORIGINS,
        **context,
    )


def _text(form: Form, name: str) -> str:
    value = form.get(name)
    return value.strip() if isinstance(value, str) else ""


def _number(raw: str) -> int | None:
    """The chosen site number; None when left empty (the next number)."""
    if not raw:
        return None
    number = ascii_int(raw, 19)
    if number is None:
        raise DomainValidationError("site_id", "a site number is a whole number")
    return number


@router.post("")
def create(request: Request, user: User, db: Db, form: Form) -> Response:
    """A new site; its token stays hidden until asked for, as on every site."""
    posted = {"name": _text(form, "name"), "site_id": _text(form, "site_id")}
    access = site_access(request)
    try:
        site, _token = site_service.create_site(
            access.db, user.tenant_id, posted["name"], access.keys, _number(posted["site_id"])
        )
    except DomainValidationError as exc:
        slot = "err-site_id" if exc.path == "site_id" else "err-name"
        return _page(
            request, user, db, {}, 400, form=posted, errors={slot: refusal(request, exc.message)}
        )
    access.sites.invalidate(site.id)  # a miss for this number may be cached
    request.session["flash"] = [
        "Site {name} created (site={id}).",
        {"name": site.name, "id": site.id},
    ]
    return redirect(request, f"/ui/sites#site-{site.id}")


@router.post("/{site_id}/origins")
def set_origins(request: Request, site_id: str, user: User, db: Db, form: Form) -> Response:
    """The origins allowed to call the look-up, one a line; none allows any."""
    raw = str(form.get("allowed_origins") or "")
    with db.read() as conn:
        site = _owned(conn, user, site_id)
    lines = [line.strip() for line in raw.splitlines() if line.strip()]
    try:
        origins = checked_origins(lines)
    except DomainValidationError as exc:
        errors = {f"err-origins-{site.id}": refusal(request, exc.message)}
        posted = {site.id: raw}
        return _page(request, user, db, {}, 400, errors=errors, origins_posted=posted)
    try:
        site = site_service.update_site(db, user.tenant_id, site.id, origins=origins)
    except NotFound:  # deleted meanwhile
        raise UiNotFound() from None
    site_access(request).sites.invalidate(site.id)
    request.session["flash"] = ["Allowed origins of {name} saved.", {"name": site.name}]
    return redirect(request, f"/ui/sites#site-{site.id}")


@router.get("")
def sites_page(request: Request, user: User, db: Db) -> Response:
    return _page(request, user, db, {})


def _token_answer(request: Request, user: User, db: Db, site: Site, token: str) -> Response:
    site_access(request).sites.invalidate(site.id)
    if is_htmx(request):
        return render(
            request,
            "partials/token.html",
            user=user,
            site=site,
            token=token,
            urls=lookup_urls(request, site.id),
        )
    return _page(request, user, db, {site.id: token})


@router.post("/{site_id}/token")
def reveal(request: Request, site_id: str, user: User, db: Db, form: Form) -> Response:
    """Show the token (made now if the site has none yet, hence a POST)."""
    try:
        site, token = _site_token(request, user, site_id, rotate=False)
    except SealError:
        with db.read() as conn:
            site = _owned(conn, user, site_id)
        token = ""  # sealed under another secret: only a rotation gives a usable one
    return _token_answer(request, user, db, site, token)


@router.get("/{site_id}/rotate")
def confirm_rotate(request: Request, site_id: str, user: User, db: Db) -> Response:
    with db.read() as conn:
        site = _owned(conn, user, site_id)
    return render(request, "site_rotate.html", user=user, site=site)


@router.post("/{site_id}/rotate")
def rotate(request: Request, site_id: str, user: User, db: Db, form: Form) -> Response:
    site, token = _site_token(request, user, site_id, rotate=True)
    site_access(request).sites.invalidate(site.id)
    return _page(request, user, db, {site.id: token})
