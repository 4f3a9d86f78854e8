"""The sites of one app as the look-up and the sites endpoints share them: the database, the
token keys and a small site cache.

Site rows are read on every look-up, so they are cached in the process. A change made
through this process (token rotation, allowed origins) drops the entry at once; a change
made by another process (``segmentd site token --rotate``) shows within ``SITE_TTL_SECONDS``.
"""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Callable
from typing import Protocol, TypeVar

from fastapi import Request
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import State

from ...secrets import TokenKeys, token_keys
from ...settings import Settings
from ...storage.db import Database
from ...storage.sites import Site, get_site

LOOKUP_PREFIX = "/api/dms/segmentation"  # where the Commanders Act look-up answers
SITE_TTL_SECONDS = 2.0
MAX_CACHED_SITES = 10_000  # unknown ids are cached too: bound what random ids can fill


class SiteCache:
    """On SQLite an expired entry is read again on the event loop's thread (one primary-key
    read, cheaper than a thread hop, as the look-up's own reads); on PostgreSQL in a thread,
    one read per site at a time: the look-ups that find the entry expired meanwhile wait for
    that read instead of each starting their own."""

    def __init__(self, db: Database, ttl: float = SITE_TTL_SECONDS) -> None:
        self.db, self.ttl = db, ttl
        self._entries: dict[int, tuple[float, Site | None]] = {}
        self._loading: dict[int, asyncio.Future[Site | None]] = {}

    async def get(self, site_id: int) -> Site | None:
        entry = self._entries.get(site_id)
        if entry is not None and entry[0] > time.monotonic():
            return entry[1]
        if self.db.is_sqlite:
            return self._store(site_id, self._load(site_id))
        loading = self._loading.get(site_id)
        if loading is None or loading.get_loop() is not asyncio.get_running_loop():
            loading = asyncio.ensure_future(self._refresh(site_id))
            self._loading[site_id] = loading
        return await asyncio.shield(loading)

    async def _refresh(self, site_id: int) -> Site | None:
        me = asyncio.current_task()
        try:
            site = await run_in_threadpool(self._load, site_id)
        finally:
            ours = self._loading.get(site_id) is me  # not invalidated meanwhile
            if ours:
                del self._loading[site_id]
        return self._store(site_id, site) if ours else site

    def _store(self, site_id: int, site: Site | None) -> Site | None:
        if len(self._entries) >= MAX_CACHED_SITES:
            self._entries.clear()
        self._entries[site_id] = (time.monotonic() + self.ttl, site)
        return site

    def _load(self, site_id: int) -> Site | None:
        with self.db.read() as conn:
            return get_site(conn, site_id)

    def invalidate(self, site_id: int) -> None:
        self._entries.pop(site_id, None)
        self._loading.pop(site_id, None)  # a read in flight may predate the change


class SiteAccess:
    def __init__(self, db: Database, settings: Settings) -> None:
        self.db = db
        self.settings = settings
        self.keys: TokenKeys = token_keys(settings)
        self.sites = SiteCache(db)


_CREATE_LOCK = threading.RLock()  # endpoints run in threads, the look-up on the loop
_Made = TypeVar("_Made", bound="OfDatabase")


class OfDatabase(Protocol):
    @property
    def db(self) -> Database: ...


def per_database(state: State, name: str, make: Callable[[], _Made]) -> _Made:
    """``state.<name>``, made on first use and made again when the app's database changed
    (each test's app opens its own). Reentrant: one maker may call another."""
    made: _Made | None = getattr(state, name, None)
    if made is not None and made.db is state.db:
        return made
    with _CREATE_LOCK:
        made = getattr(state, name, None)
        if made is None or made.db is not state.db:
            made = make()
            setattr(state, name, made)
        return made


def site_access(request: Request) -> SiteAccess:
    """The app's site access, made on first use (the app's lifespan opened the database)."""
    return site_access_of(request.app.state)


def site_access_of(state: State) -> SiteAccess:
    """``site_access`` from the app's state (the look-up's context has no ``Request``)."""
    return per_database(state, "site_access", lambda: SiteAccess(state.db, state.settings))
