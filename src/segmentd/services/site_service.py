"""Site use cases (a site is a list as the Commanders Act look-up sees it): create, rename, set
the allowed origins, read or rotate the token, list a site's segments.

The native API, the UI and ``segmentd site`` go through here. A token sealed under another
secret raises ``secrets.SealError``: each caller says so its own way. Callers that cache sites
(the look-up) drop the entry of a site they changed.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from sqlalchemy.engine import Connection

from ..domain.errors import DomainValidationError, NotFound, Taken
from ..domain.ids import MAX_ID
from ..secrets import TokenKeys
from ..storage import sites as store
from ..storage.db import Database

# A chosen site number: Commanders Act's are small; later lists are numbered after the
# highest, so a cap far below MAX_ID keeps every number within the look-up's 18 digits.
MAX_CHOSEN_SITE_ID = 2**31 - 1
MAX_SITE_NAME = 128
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")  # names are shown in pages and stored as text


def _checked_name(name: str) -> str:
    name = name.strip()
    if not name:
        raise DomainValidationError("name", "must not be blank")
    if len(name) > MAX_SITE_NAME:
        raise DomainValidationError("name", f"at most {MAX_SITE_NAME} characters")
    if _CONTROL.search(name):
        raise DomainValidationError("name", "must not contain control characters")
    return name


def owned_site(conn: Connection, tenant_id: int | None, site_id: int) -> store.Site:
    """The tenant's site ``site_id`` (any tenant's when ``tenant_id`` is None); NotFound else."""
    site = store.get_site(conn, site_id, tenant_id) if 0 < site_id <= MAX_ID else None
    if site is None:
        raise NotFound(f"site {site_id}")
    return site


def list_sites(db: Database, tenant_id: int) -> list[store.Site]:
    with db.read() as conn:
        return store.list_sites(conn, tenant_id)


def create_site(
    db: Database, tenant_id: int, name: str, keys: TokenKeys, site_id: int | None = None
) -> tuple[store.Site, str]:
    """A new site with its token; ``site_id`` keeps a Commanders Act site number (Taken when
    any tenant has it: say no more than that, whoever holds it)."""
    name = _checked_name(name)
    if site_id is not None and not 0 < site_id <= MAX_CHOSEN_SITE_ID:
        raise DomainValidationError("site_id", f"a site number is 1 to {MAX_CHOSEN_SITE_ID}")
    try:
        with db.write() as conn:
            return store.create_site(conn, tenant_id, name, keys, site_id)
    except store.SiteIdTaken:
        raise Taken("site_id", f"site {site_id} is taken") from None


def update_site(
    db: Database,
    tenant_id: int,
    site_id: int,
    *,
    name: str | None = None,
    origins: Sequence[str] | None = None,
) -> store.Site:
    """Rename the site (a blank name keeps it) and/or set its allowed origins (normalized)."""
    with db.write() as conn:
        site = owned_site(conn, tenant_id, site_id)
        if name is not None and name.strip():
            site = store.rename_site(conn, site, name.strip())
        if origins is not None:
            site = store.set_allowed_origins(conn, site, origins)
    return site


def site_token(
    db: Database, tenant_id: int | None, site_id: int, keys: TokenKeys, *, rotate: bool = False
) -> tuple[store.Site, str]:
    """The site's token (made now if it has none), or a new one replacing it."""
    with db.write() as conn:
        site = owned_site(conn, tenant_id, site_id)
        if rotate:
            return site, store.rotate_token(conn, site, keys)
        return site, store.read_token(conn, site, keys)


def site_segments(db: Database, tenant_id: int, site_id: int) -> list[store.SiteSegment]:
    with db.read() as conn:
        return store.site_segments(conn, owned_site(conn, tenant_id, site_id))
