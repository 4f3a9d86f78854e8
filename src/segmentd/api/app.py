"""The ASGI application: it composes the four API families, EngageLab's ``/v1/marketing/``,
Commanders Act's ``/api/dms/segmentation/``, segmentd's native ``/v1/`` endpoints and the web
UI at ``/ui`` (each installs its routes and its error wording, in a fixed order), wraps every
request in the app's own middleware, and runs the build worker (unless disabled) and the
import worker, and the webhook worker with the build worker, for the app's lifetime.
"""

from __future__ import annotations

import gc
import logging
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager

from fastapi import Depends, FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from starlette.exceptions import HTTPException as StarletteHTTPException

from .. import __version__, log_setup
from ..domain.errors import DomainValidationError, NotFound
from ..imports.import_worker import ImportWorker
from ..jobs.analytics_source import analytics_source
from ..services.tenant_service import ensure_credential
from ..settings import Settings
from ..storage.db import Database
from ..storage.secret_check import verify_secret
from . import commandersact, engagelab, native
from .commandersact.fastpath import LookupFastPath
from .common.envelope import (
    INVALID,
    NOT_FOUND,
    EngageLabError,
    describe_validation_error,
    error_response,
    handle_domain_error,
    handle_engagelab_error,
    handle_not_found,
    names_input,
)
from .common.family_errors import FamilyErrorRegistry
from .common.ratelimit import FailureLimiter
from .docs_page import mount_docs
from .fault_answers import Faults
from .header_limit import HeaderSizeLimit
from .inputs import InputRefused, check_request_text, on_input_refused
from .limits import BodySizeLimit
from .metrics_route import install_metrics
from .openapi import allowed_methods, install_openapi
from .request_log import RequestLog
from .server_timing import ServerTiming
from .ui import mount_ui

log = logging.getLogger("segmentd")

ENGAGELAB_PREFIX = "/v1/"
UPLOAD_PATHS = ("/imports", "/members.csv")  # files, under the upload limit


def _is_engagelab(request: Request) -> bool:
    return request.url.path.startswith(ENGAGELAB_PREFIX)


async def _on_validation_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, RequestValidationError)
    message = describe_validation_error(exc)
    if _is_engagelab(request):
        node = _input_of(exc)
        if node and names_input(request.url.path) and message.startswith(f"[{node}]:"):
            message = message[len(node) + 3 :]
        return error_response(400, INVALID, message, request.url.path, node)
    return JSONResponse({"error": "invalid_request", "message": message}, status_code=400)


def _input_of(exc: RequestValidationError) -> str | None:
    """The input the first error is about, as the native segments API names it."""
    errors = list(exc.errors())
    if not errors or errors[0].get("type") == "json_invalid":
        return None  # its location is a character position, not an input
    location = errors[0].get("loc", ())
    parts = [str(part) for part in location if part not in ("body", "query", "path")]
    return ".".join(parts) or None


def _error_headers(request: Request, exc: StarletteHTTPException) -> dict[str, str]:
    headers = dict(getattr(exc, "headers", None) or {})
    if exc.status_code == 405:  # every method of the path, not just the first route's
        methods = allowed_methods(request.app.openapi(), request.url.path)
        if methods:
            headers["Allow"] = ", ".join(methods)
    return headers


async def _on_http_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, StarletteHTTPException)
    headers = _error_headers(request, exc)
    if _is_engagelab(request):
        code = NOT_FOUND if exc.status_code == 404 else INVALID
        message = "not found" if exc.status_code == 404 else str(exc.detail)
        response = error_response(exc.status_code, code, message, request.url.path)
        response.headers.update(headers)
        return response
    return JSONResponse(
        {"error": "http_error", "message": str(exc.detail)},
        status_code=exc.status_code,
        headers=headers or None,
    )


def _body_limit(settings: Settings) -> Callable[[str], int]:
    def limit_for(path: str) -> int:
        uploads = path.endswith(UPLOAD_PATHS)
        return settings.max_upload_bytes if uploads else settings.max_body_bytes

    return limit_for


def create_app(
    settings: Settings | None = None, *, start_worker: bool | None = None, freeze_gc: bool = False
) -> FastAPI:
    """The application. ``freeze_gc`` (``segmentd serve``) moves every object alive once the
    app has started out of the garbage collector's sight (``gc.freeze``), so a full collection
    stays short: every request in flight waits for it. Objects are still freed as usual; only
    the collector skips them."""
    settings = settings or Settings()
    run_worker = settings.worker if start_worker is None else start_worker

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        db = Database(
            settings.database_url,
            background_checkpoints=True,
            sqlite_busy_ms=round(settings.sqlite_busy_seconds * 1000),
            analytics_outbox=settings.analytics is not None,
        )
        db.migrate()
        try:
            verify_secret(db, settings)  # refuse to serve tokens that cannot be opened
        except Exception:
            db.dispose()
            raise
        if settings.api_user and settings.api_key:
            ensure_credential(db, settings.api_user, settings.api_key)
        app.state.db = db
        app.state.settings = settings
        app.state.analytics = analytics_source(settings.analytics)
        worker = webhook_worker = None
        if run_worker:
            from ..jobs.build_worker import Worker
            from ..jobs.webhook_worker import WebhookWorker

            worker = Worker(db, settings)
            worker.start()
            webhook_worker = WebhookWorker(db, settings)
            webhook_worker.start()
        # Uploaded CSV imports run (and resume after a crash) in every server.
        import_worker = ImportWorker(db, settings)
        import_worker.start()
        if freeze_gc:
            gc.collect()
            gc.freeze()
        try:
            yield
        finally:
            import_worker.stop()
            if worker is not None:
                worker.stop()
            if webhook_worker is not None:
                webhook_worker.stop()
            lookups = getattr(app.state, "commandersact", None)
            if lookups is not None:
                lookups.visitors.close()
            db.dispose()

    app = FastAPI(
        title="segmentd",
        version=__version__,
        description="Audience segmentation speaking the EngageLab segments API and the "
        "Commanders Act segmentation API.",
        lifespan=lifespan,
        docs_url=None,
        redoc_url=None,
        # Strings that cannot be stored are refused before any endpoint runs.
        dependencies=[Depends(check_request_text)],
    )
    app.state.auth_limiter = FailureLimiter(limit=settings.auth_failure_limit)
    # How each family words what no endpoint answered (``api.fault_answers``, ``api.inputs``):
    # each family registers its own as it is installed below.
    app.state.family_errors = FamilyErrorRegistry()
    # Innermost: it times the application; the look-up's fast path, outside it, stays lean.
    app.add_middleware(ServerTiming)
    # Look-ups still pass the body limit (and any outer middleware).
    app.add_middleware(LookupFastPath)
    app.add_middleware(BodySizeLimit, limit_for=_body_limit(settings))
    app.add_exception_handler(EngageLabError, handle_engagelab_error)
    app.add_exception_handler(DomainValidationError, handle_domain_error)
    app.add_exception_handler(NotFound, handle_not_found)
    app.add_exception_handler(InputRefused, on_input_refused)
    app.add_exception_handler(RequestValidationError, _on_validation_error)
    app.add_exception_handler(StarletteHTTPException, _on_http_error)

    @app.get("/healthz", tags=["health"], summary="Liveness check")
    async def healthz() -> dict[str, str]:
        return {"status": "ok"}

    install_metrics(app)
    # Routes match in order: the visitor look-up (the hot path) first; /openapi.json lists
    # paths in this order too.
    commandersact.install(app)
    native.install(app)
    engagelab.install(app)
    native.install_preview(app)
    mount_ui(app, settings)
    # Outermost: whatever fails below answers in its family's envelope, connection kept.
    app.add_middleware(
        Faults, max_replay_bytes=settings.max_body_bytes, family_errors=app.state.family_errors
    )
    app.add_middleware(HeaderSizeLimit, limit=settings.max_header_bytes)
    # Outermost of all: the request id, latency and log line see every answer, look-ups too.
    app.add_middleware(RequestLog)
    mount_docs(app)
    install_openapi(app, components=native.OPENAPI_COMPONENTS)
    return app


def create_served_app() -> FastAPI:
    """The app of one ``segmentd serve --workers N`` process (settings from the environment)."""
    settings = Settings()
    log_setup.configure(settings)
    return create_app(settings, freeze_gc=True)
