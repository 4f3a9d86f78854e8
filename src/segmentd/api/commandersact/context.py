"""What the look-up needs per app: the database, the token keys and a small site cache.

Site rows are read on every look-up, so they are cached in the process. A change made
through this process (token rotation, allowed origins) drops the entry at once; a change
made by another process (``segmentd site token --rotate``) shows within ``SITE_TTL_SECONDS``.
"""

from __future__ import annotations

import threading
import time

from fastapi import Request
from starlette.concurrency import run_in_threadpool

from ...secrets import TokenKeys, token_keys
from ...settings import Settings
from ...storage.db import Database
from ...storage.sites import Site, get_site
from .reader import VisitorReader

SITE_TTL_SECONDS = 2.0
MAX_CACHED_SITES = 10_000  # unknown ids are cached too: bound what random ids can fill
_CREATE_LOCK = threading.Lock()  # native endpoints run in threads, the look-up on the loop


class SiteCache:
    def __init__(self, db: Database, ttl: float = SITE_TTL_SECONDS) -> None:
        self.db, self.ttl = db, ttl
        self._entries: dict[int, tuple[float, Site | None]] = {}

    async def get(self, site_id: int) -> Site | None:
        entry = self._entries.get(site_id)
        if entry is not None and entry[0] > time.monotonic():
            return entry[1]
        site = await run_in_threadpool(self._load, site_id)
        if len(self._entries) >= MAX_CACHED_SITES:
            self._entries.clear()
        self._entries[site_id] = (time.monotonic() + self.ttl, site)
        return site

    def _load(self, site_id: int) -> Site | None:
        with self.db.read() as conn:
            return get_site(conn, site_id)

    def invalidate(self, site_id: int) -> None:
        self._entries.pop(site_id, None)


class LookupContext:
    def __init__(self, db: Database, settings: Settings) -> None:
        self.db = db
        self.settings = settings
        self.keys: TokenKeys = token_keys(settings)
        self.sites = SiteCache(db)
        self.visitors = VisitorReader(db)


def lookup_context(request: Request) -> LookupContext:
    """The app's context, made on first use (the app's lifespan opened the database)."""
    state = request.app.state
    context: LookupContext | None = getattr(state, "commandersact", None)
    if context is not None and context.db is state.db:
        return context
    with _CREATE_LOCK:
        context = getattr(state, "commandersact", None)
        if context is None or context.db is not state.db:
            context = LookupContext(state.db, state.settings)
            state.commandersact = context
        return context
