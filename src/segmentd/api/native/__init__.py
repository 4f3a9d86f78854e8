"""segmentd's own ``/v1/`` endpoints: sites and their tokens, webhook subscriptions, the
native segments API (``/v1/segments``: conditions in the native form, static segments'
members), the CSV export
of a segment's members, its freshness and the tenant's job status, the flat form's count
preview and the membership history. Basic auth as on the EngageLab
API; JSON answers (the export: CSV), errors in the same ``/v1/`` envelope
``{"code": N, "message": "..."}``, with ``"path"`` under ``/v1/segments``
(``api.common.envelope``). ``OPENAPI_COMPONENTS``: the condition tree's schemas, which
``/openapi.json`` holds.

``api.app`` mounts the family in two calls, keeping the order routes have always had (and
``/openapi.json`` lists paths in that order): ``install(app)`` registers the error wording and
mounts sites, the export and webhooks before EngageLab's routes, ``install_preview(app)`` mounts
the preview and the history after them.
"""

from __future__ import annotations

from fastapi import FastAPI

from ..common.envelope import V1_ERRORS
from ..common.family_errors import register
from . import (
    exports,
    freshness_routes,
    history_routes,
    preview_routes,
    segment_member_routes,
    site_routes,
    tree_segment_routes,
    webhook_routes,
)
from .condition_schema import COMPONENTS as OPENAPI_COMPONENTS

__all__ = ["OPENAPI_COMPONENTS", "install", "install_preview"]


def install(app: FastAPI) -> None:
    register(app, V1_ERRORS)
    app.include_router(site_routes.router)
    app.include_router(exports.router)
    app.include_router(tree_segment_routes.router)
    app.include_router(segment_member_routes.router)
    app.include_router(freshness_routes.router)
    app.include_router(webhook_routes.router)


def install_preview(app: FastAPI) -> None:
    app.include_router(preview_routes.router)
    app.include_router(history_routes.router)
