"""The web UI at /ui: server-rendered pages (Jinja2 + htmx), every asset shipped in the package.

Pages answer HTML; an error is an HTML page too (``deps.UI_ERRORS``). ``mount_ui(app,
settings)`` is the one call ``api.app`` makes: it registers that error wording and adds the
session middleware, the error handlers, the static files and every UI route.
"""

from __future__ import annotations

from pathlib import Path

from fastapi import APIRouter, FastAPI, Request
from fastapi.responses import Response
from fastapi.staticfiles import StaticFiles

from ...settings import Settings
from ..common.family_errors import register
from . import (
    routes_auth,
    routes_builder,
    routes_catalog,
    routes_history,
    routes_imports,
    routes_library,
    routes_member_edit,
    routes_segments,
    routes_sites,
    routes_static,
    routes_webhooks,
)
from .deps import UI_ERRORS, UiNotFound, add_error_handlers
from .session import UiSessionMiddleware

STATIC_DIR = Path(__file__).parent / "static"
_fallback = APIRouter(prefix="/ui", include_in_schema=False)


@_fallback.api_route("/{rest:path}", methods=["GET", "POST"])
def not_found(request: Request, rest: str) -> Response:
    """Any other /ui path: the UI's own 404 page rather than the API's JSON."""
    raise UiNotFound()


def mount_ui(app: FastAPI, settings: Settings) -> None:
    register(app, UI_ERRORS)
    app.add_middleware(UiSessionMiddleware, settings=settings)
    add_error_handlers(app)
    app.mount("/ui/static", StaticFiles(directory=STATIC_DIR), name="ui-static")
    app.include_router(routes_auth.router)
    # /segments/new and /segments/new-static must come before /segments/{segment_id}.
    app.include_router(routes_builder.router)
    app.include_router(routes_static.router)
    app.include_router(routes_segments.router)
    app.include_router(routes_history.router)
    app.include_router(routes_member_edit.router)
    app.include_router(routes_library.router)
    app.include_router(routes_sites.router)
    app.include_router(routes_webhooks.router)
    app.include_router(routes_catalog.router)
    app.include_router(routes_imports.router)
    app.include_router(_fallback)
