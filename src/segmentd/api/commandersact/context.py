"""What the look-up needs per app: the database, the token keys, the site cache (shared with
the sites endpoints, ``api.common.site_access``), the visitor reader and the walk limit."""

from __future__ import annotations

import threading

from fastapi import Request
from starlette.datastructures import State

from ...membership import store
from ...secrets import TokenKeys
from ..common.site_access import SiteAccess, site_access_of
from .walking import VisitorWalkLimit

_CREATE_LOCK = threading.Lock()  # native endpoints run in threads, the look-up on the loop


class LookupContext:
    def __init__(self, access: SiteAccess) -> None:
        self.db = access.db
        self.settings = access.settings
        self.keys: TokenKeys = access.keys
        self.sites = access.sites  # shared: the sites endpoints drop what they change
        self.visitors = store().member_segments(access.db)
        self.walks = VisitorWalkLimit(access.settings.lookup_visitor_limit)


def lookup_context(request: Request) -> LookupContext:
    """The app's context, made on first use (the app's lifespan opened the database)."""
    return context_of(request.app.state)


def context_of(state: State) -> LookupContext:
    """``lookup_context`` from the app's state (the look-up's fast path has no ``Request``)."""
    context: LookupContext | None = getattr(state, "commandersact", None)
    if context is not None and context.db is state.db:
        return context
    with _CREATE_LOCK:
        context = getattr(state, "commandersact", None)
        if context is None or context.db is not state.db:
            context = LookupContext(site_access_of(state))
            state.commandersact = context
        return context
