"""The ASGI application: both API families, the native API, and the build worker's lifetime."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from starlette.exceptions import HTTPException as StarletteHTTPException

from .. import __version__
from ..domain.errors import DomainValidationError
from ..settings import Settings
from ..storage.db import Database
from ..storage.tenants import ensure_credential
from .docs_page import mount_docs
from .limits import BodySizeLimit
from .openapi import install_openapi
from .ratelimit import FailureLimiter
from .engagelab import ingest as engagelab_ingest
from .engagelab import segments as engagelab_segments
from .engagelab.errors import (
    INVALID,
    NOT_FOUND,
    EngageLabError,
    describe_validation_error,
    error_response,
    handle_domain_error,
    handle_engagelab_error,
)

log = logging.getLogger("segmentd")

ENGAGELAB_PREFIX = "/v1/"


def _is_engagelab(request: Request) -> bool:
    return request.url.path.startswith(ENGAGELAB_PREFIX)


async def _on_validation_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, RequestValidationError)
    message = describe_validation_error(exc)
    if _is_engagelab(request):
        return error_response(400, INVALID, message)
    return JSONResponse({"error": "invalid_request", "message": message}, status_code=400)


async def _on_http_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, StarletteHTTPException)
    if _is_engagelab(request):
        code = NOT_FOUND if exc.status_code == 404 else INVALID
        message = "not found" if exc.status_code == 404 else str(exc.detail)
        return error_response(exc.status_code, code, message)
    return JSONResponse(
        {"error": "http_error", "message": str(exc.detail)},
        status_code=exc.status_code,
        headers=getattr(exc, "headers", None),
    )


def _body_limit(settings: Settings) -> Callable[[str], int]:
    def limit_for(path: str) -> int:
        return settings.max_upload_bytes if path.endswith("/imports") else settings.max_body_bytes

    return limit_for


def create_app(settings: Settings | None = None, *, start_worker: bool | None = None) -> FastAPI:
    settings = settings or Settings()
    run_worker = settings.worker if start_worker is None else start_worker

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        db = Database(settings.database_url)
        db.migrate()
        if settings.api_user and settings.api_key:
            with db.write() as conn:
                ensure_credential(conn, settings.api_user, settings.api_key)
        app.state.db = db
        app.state.settings = settings
        worker = None
        if run_worker:
            from ..jobs.worker import Worker

            worker = Worker(db, settings)
            worker.start()
        # --- CSV imports (issue #4): uploaded imports run (and resume) in this server ---
        from ..imports.worker import ImportWorker

        import_worker = ImportWorker(db, settings)
        import_worker.start()
        # --- end CSV imports ---
        try:
            yield
        finally:
            import_worker.stop()  # CSV imports (issue #4)
            if worker is not None:
                worker.stop()
            db.dispose()

    app = FastAPI(
        title="segmentd",
        version=__version__,
        description="Audience segmentation speaking the EngageLab segments API and the "
        "Commanders Act segmentation API.",
        lifespan=lifespan,
        docs_url=None,
        redoc_url=None,
    )
    app.state.auth_limiter = FailureLimiter(limit=settings.auth_failure_limit)
    app.add_middleware(BodySizeLimit, limit_for=_body_limit(settings))
    app.add_exception_handler(EngageLabError, handle_engagelab_error)
    app.add_exception_handler(DomainValidationError, handle_domain_error)
    app.add_exception_handler(RequestValidationError, _on_validation_error)
    app.add_exception_handler(StarletteHTTPException, _on_http_error)

    @app.get("/healthz", tags=["health"], summary="Liveness check")
    async def healthz() -> dict[str, str]:
        return {"status": "ok"}

    # --- Commanders Act look-up and native sites (issue #3); first, so the hot path is matched first ---
    from .commandersact.redaction import install_token_redaction
    from .commandersact.routes import router as commandersact_router
    from .native.sites import router as sites_router

    install_token_redaction()
    app.include_router(commandersact_router)
    app.include_router(sites_router)
    # --- end Commanders Act ---
    app.include_router(engagelab_segments.router)
    # --- CSV imports (issue #4): before ingest, so .../members/imports is never a member path ---
    from .engagelab import imports as engagelab_imports

    app.include_router(engagelab_imports.router)
    # --- end CSV imports ---
    app.include_router(engagelab_ingest.router)
    # --- web UI at /ui (issue #6): owned by api/ui ---
    from .ui import mount_ui

    mount_ui(app, settings)
    # --- end web UI ---
    # docs page (offline Swagger UI): owned by docs_page.py
    mount_docs(app)
    install_openapi(app)
    return app
