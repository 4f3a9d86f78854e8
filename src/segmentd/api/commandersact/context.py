"""What the look-up needs per app: the database, the token keys, the site cache (shared with
the sites endpoints, ``api.common.site_access``), the visitor reader and the walk limit."""

from __future__ import annotations

from fastapi import Request
from starlette.datastructures import State

from ...membership import store
from ...secrets import TokenKeys
from ..common.site_access import SiteAccess, per_database, site_access_of
from .walking import VisitorWalkLimit


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
    return per_database(state, "commandersact", lambda: LookupContext(site_access_of(state)))
