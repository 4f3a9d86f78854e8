"""Sign in with the API credentials, sign out, and choose the language."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response

from ...storage.tenants import check_credential
from ..common.ratelimit import FailureLimiter, client_address
from .deps import Db, Form, redirect
from .i18n import LANGUAGES
from .rendering import render
from .session import sign_in, sign_out, signed_in_user

router = APIRouter(prefix="/ui", include_in_schema=False)
HOME = "/ui/segments"


def safe_next(target: object) -> str:
    """Only a path inside the UI: never an open redirect to another site."""
    if isinstance(target, str) and target.startswith("/ui/") and not target.startswith("//"):
        return target if "\\" not in target else HOME
    return HOME


@router.get("")
def home() -> Response:
    return RedirectResponse(HOME, status_code=303)


@router.get("/")
def home_slash() -> Response:
    return RedirectResponse(HOME, status_code=303)


@router.get("/login")
def login_form(request: Request, db: Db, next: str = HOME) -> Response:
    if signed_in_user(request, db) is not None:
        return RedirectResponse(safe_next(next), status_code=303)
    return render(request, "login.html", next=safe_next(next), api_user="", error="")


@router.post("/login")
def login(request: Request, db: Db, form: Form) -> Response:
    api_user, api_key = str(form.get("api_user") or ""), str(form.get("api_key") or "")
    target = safe_next(form.get("next"))
    if not api_user or not api_key:  # no credentials: no guess to count
        return _login_failed(request, target, api_user, 0)
    with db.read() as conn:
        checked = check_credential(conn, api_user, api_key)
    if checked.tenant_id is None:
        # The API's rule (``engagelab.auth``): wrong keys per client and api_user are
        # limited, a right key always passes.
        limiter: FailureLimiter = request.app.state.auth_limiter
        retry_after = limiter.failed(client_address(request.client), api_user, checked)
        return _login_failed(request, target, api_user, retry_after)
    sign_in(request, db, api_user, checked.tenant_id)
    return RedirectResponse(target, status_code=303)


def _login_failed(request: Request, target: str, api_user: str, retry_after: int) -> Response:
    """The API's words: "authentication failed", or the throttle's 429 with Retry-After."""
    if retry_after:
        message = f"too many failed authentications, retry in {retry_after} s"
        headers = {"Retry-After": str(retry_after)}
    else:
        message, headers = "authentication failed", {}
    return render(
        request,
        "login.html",
        status_code=429 if retry_after else 401,
        headers=headers,
        next=target,
        api_user=api_user,
        error=message,
    )


@router.post("/logout")
def logout(request: Request, db: Db, form: Form) -> Response:
    sign_out(request, db)
    return redirect(request, "/ui/login")


@router.post("/language")
def choose_language(request: Request, form: Form) -> Response:
    lang = form.get("lang")
    if lang in LANGUAGES:
        request.session["lang"] = lang
    return RedirectResponse(safe_next(form.get("back")), status_code=303)
