"""Jinja2 templates (autoescaped) and the headers every UI page carries."""

from __future__ import annotations

from datetime import timezone
from typing import Any

import jinja2
from fastapi import Request
from fastapi.responses import HTMLResponse

from ... import __version__
from ...timefmt import SEGMENT_STYLE, format_time
from .i18n import DEFAULT_LANGUAGE, LANGUAGES, translator
from .session import CSRF_FIELD, UiUser, csrf_token

# Everything the pages load comes from this server; htmx needs no eval and no inline styles.
SECURITY_HEADERS = {
    "Content-Security-Policy": (
        "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
        "form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
    ),
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "same-origin",
    "Cache-Control": "no-store",
}

environment = jinja2.Environment(
    loader=jinja2.PackageLoader("segmentd.api.ui", "templates"),
    autoescape=True,
    undefined=jinja2.StrictUndefined,
    trim_blocks=True,
    lstrip_blocks=True,
)


def language(request: Request) -> str:
    lang = request.session.get("lang")
    return lang if lang in LANGUAGES else DEFAULT_LANGUAGE


def time_filter(tz: timezone) -> Any:
    def show(epoch: int | None) -> str:
        return format_time(epoch, tz, SEGMENT_STYLE) or ""

    return show


def render(
    request: Request,
    template: str,
    *,
    user: UiUser | None = None,
    status_code: int = 200,
    headers: dict[str, str] | None = None,
    **context: Any,
) -> HTMLResponse:
    lang = language(request)
    # A message left by the previous POST shows once, on the next full page.
    flash = None if template.startswith("partials/") else request.session.pop("flash", None)
    if flash and isinstance(flash[0], str):  # one message, or a list of them
        flash = [flash]
    settings = request.app.state.settings
    page = environment.get_template(template).render(
        request=request,
        user=user,
        lang=lang,
        languages=LANGUAGES,
        _=translator(lang),
        csrf=csrf_token(request),
        csrf_field=CSRF_FIELD,
        version=__version__,
        show_time=time_filter(settings.tz),
        flash=flash,
        **context,
    )
    return HTMLResponse(
        page, status_code=status_code, headers={**SECURITY_HEADERS, **(headers or {})}
    )


FAULT_MESSAGES = {
    500: "Something went wrong on our side; it has been logged.",
    503: "The database is unavailable; please try again.",
}


def error_page(request: Request, status_code: int) -> HTMLResponse:
    """The error page of a request no route answered (``api.fault_answers``): it needs no session,
    but keeps the visitor's language when the session was read."""
    session = request.scope.get("session") or {}
    chosen = session.get("lang")
    lang = chosen if isinstance(chosen, str) and chosen in LANGUAGES else DEFAULT_LANGUAGE
    page = environment.get_template("error.html").render(
        request=request,
        user=None,
        lang=lang,
        languages=LANGUAGES,
        _=translator(lang),
        csrf=str(session.get("csrf") or ""),
        csrf_field=CSRF_FIELD,
        version=__version__,
        flash=None,
        message=FAULT_MESSAGES[status_code],
    )
    return HTMLResponse(page, status_code=status_code, headers=SECURITY_HEADERS)
