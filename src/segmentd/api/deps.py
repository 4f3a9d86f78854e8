"""Request-scoped access to the app's shared parts."""

from __future__ import annotations

from fastapi import Request

from ..settings import Settings
from ..storage.db import Database


def get_db(request: Request) -> Database:
    db: Database = request.app.state.db
    return db


def get_settings(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings
