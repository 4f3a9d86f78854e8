"""EngageLab's API under ``/v1/marketing/``: segments, the ingestion of fields, members, tags,
campaigns and events, and CSV imports as API jobs. Basic auth; JSON answers, errors in the
``/v1/`` envelope ``{"code": N, "message": "..."}`` (``api.common.envelope``).

``install(app)`` is the one call ``api.app`` makes: it mounts the routers and registers the
family's error wording.
"""

from __future__ import annotations

from fastapi import FastAPI

from ..common.envelope import V1_ERRORS
from ..common.family_errors import register
from . import imports, ingest, segment_routes


def install(app: FastAPI) -> None:
    register(app, V1_ERRORS)
    app.include_router(segment_routes.router)
    # Imports before ingest, so that .../members/imports is never read as a member path.
    app.include_router(imports.router)
    app.include_router(ingest.router)
