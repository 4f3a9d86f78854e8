"""Dependencies of the UI routes: the signed-in user, CSRF-checked forms, and their failures."""

from __future__ import annotations

from typing import Annotated
from urllib.parse import quote

from fastapi import Depends, FastAPI, Request
from fastapi.responses import RedirectResponse, Response
from starlette.datastructures import FormData

from ...domain.text import printable, text_problem
from ...settings import Settings
from ...storage.db import Database
from ..common.app_state import get_db, get_settings
from ..common.family_errors import FamilyErrors
from .refusal_words import refusal
from .rendering import error_page, render
from .session import UiUser, csrf_ok, signed_in_user

LOGIN_PATH = "/ui/login"


class LoginRequired(Exception):
    """No valid session: pages redirect to the login form, htmx requests reload into it."""


class CsrfRejected(Exception):
    """A POST without the session's CSRF token."""


class BadInput(Exception):
    """A form field the server cannot store (NUL, lone surrogate): an error page, nothing saved."""


class UiNotFound(Exception):
    """The tenant has no such thing (another tenant's ids land here too)."""


def current_user(request: Request, db: Database = Depends(get_db)) -> UiUser:
    user = signed_in_user(request, db)
    if user is None:
        raise LoginRequired()
    return user


async def checked_form(request: Request) -> FormData:
    form = await request.form()
    if not csrf_ok(request, form):
        raise CsrfRejected()
    for name, value in form.multi_items():
        for text in (name, value):
            problem = text_problem(text) if isinstance(text, str) else None
            if problem is not None:
                raise BadInput(f"[{printable(name)}]:{problem}")
    return form


User = Annotated[UiUser, Depends(current_user)]
Form = Annotated[FormData, Depends(checked_form)]
Db = Annotated[Database, Depends(get_db)]
Config = Annotated[Settings, Depends(get_settings)]


def is_htmx(request: Request) -> bool:
    return request.headers.get("hx-request") == "true"


def redirect(request: Request, url: str) -> Response:
    """Go to ``url`` after a POST: a 303 for forms, a client-side redirect for htmx."""
    if is_htmx(request):
        return Response(status_code=204, headers={"HX-Redirect": url})
    return RedirectResponse(url, status_code=303)


async def _on_login_required(request: Request, _exc: Exception) -> Response:
    target = request.url.path
    if request.url.query:
        target += "?" + request.url.query
    url = f"{LOGIN_PATH}?next={quote(target, safe='')}" if request.method == "GET" else LOGIN_PATH
    return redirect(request, url)


async def _on_csrf_rejected(request: Request, _exc: Exception) -> Response:
    return render(
        request, "error.html", status_code=403, message="Your form expired; please try again."
    )


def bad_input_page(request: Request, message: str) -> Response:
    return render(request, "error.html", status_code=400, message=message)


async def _on_bad_input(request: Request, exc: Exception) -> Response:
    name, _, problem = str(exc).partition("]:")  # "[input]:problem"
    return bad_input_page(request, f"{name}]:{refusal(request, problem)}")


async def _on_not_found(request: Request, _exc: Exception) -> Response:
    return render(request, "error.html", status_code=404, message="Page not found")


def _fault_page(request: Request, status: int, _error: str, _message: str) -> Response:
    return error_page(request, status)


UI_ERRORS = FamilyErrors(
    prefixes=("/ui/",), paths=("/ui",), fault=_fault_page, refused=bad_input_page
)


def add_error_handlers(app: FastAPI) -> None:
    app.add_exception_handler(LoginRequired, _on_login_required)
    app.add_exception_handler(CsrfRejected, _on_csrf_rejected)
    app.add_exception_handler(UiNotFound, _on_not_found)
    app.add_exception_handler(BadInput, _on_bad_input)
