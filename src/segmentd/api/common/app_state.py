"""Request-scoped access to the app's shared parts.

Async, though they wait for nothing: FastAPI runs a plain ``def`` dependency in its thread
pool, and a trip there and back for each would cost every request.
"""

from __future__ import annotations

from fastapi import Request

from ...jobs.analytics_source import AnalyticsSource
from ...settings import Settings
from ...storage.db import Database


async def get_db(request: Request) -> Database:
    db: Database = request.app.state.db
    return db


async def get_settings(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


async def get_analytics(request: Request) -> AnalyticsSource | None:
    """The analytics back-end previews count on; None when it is not set."""
    source: AnalyticsSource | None = getattr(request.app.state, "analytics", None)
    return source
