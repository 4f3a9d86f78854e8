"""Sites (Commanders Act): a site is a list, ``site`` is its id; each has a secret token.

The token is stored as a keyed digest (to verify it) and sealed (so its owner can read it
back); see ``segmentd.secrets``. Lists created without a token (the tenant's default list)
get one the first time their owner asks for it.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from ..random_ids import new_secret
from ..secrets import TokenKeys
from ..timefmt import now
from .schema import lists, segments

TOKEN_LENGTH = 32
SITE_COLUMNS = (
    lists.c.id,
    lists.c.tenant_id,
    lists.c.name,
    lists.c.is_default,
    lists.c.allowed_origins,
    lists.c.token_digest,
)


@dataclass(frozen=True)
class Site:
    id: int
    tenant_id: int
    name: str
    is_default: bool
    allowed_origins: tuple[str, ...]  # empty: any origin may call the look-up
    token_digest: str | None  # None until the owner first asks for the token


def _site(row: Any) -> Site:
    origins = tuple(json.loads(row.allowed_origins)) if row.allowed_origins else ()
    return Site(row.id, row.tenant_id, row.name, bool(row.is_default), origins, row.token_digest)


def get_site(conn: Connection, site_id: int, tenant_id: int | None = None) -> Site | None:
    """The site ``site_id``; with ``tenant_id``, only if that tenant owns it."""
    query = sa.select(*SITE_COLUMNS).where(lists.c.id == site_id)
    if tenant_id is not None:
        query = query.where(lists.c.tenant_id == tenant_id)
    row = conn.execute(query).first()
    return _site(row) if row else None


def list_sites(conn: Connection, tenant_id: int) -> list[Site]:
    rows = conn.execute(
        sa.select(*SITE_COLUMNS).where(lists.c.tenant_id == tenant_id).order_by(lists.c.id)
    )
    return [_site(row) for row in rows]


class SiteIdTaken(Exception):
    """The site number asked for is used already (by any tenant: site ids are global)."""


def create_site(
    conn: Connection, tenant_id: int, name: str, keys: TokenKeys, site_id: int | None = None
) -> tuple[Site, str]:
    """A new list (= site) with its token; returns the site and the token.

    ``site_id`` keeps the number pages are tagged with (a migration from Commanders Act);
    raises ``SiteIdTaken`` when a list has it. Lists numbered later never collide with it.
    """
    row = {"tenant_id": tenant_id, "name": name, "is_default": False, "created_at": now()}
    if site_id is None:
        site_id = int(conn.execute(sa.insert(lists).values(row).returning(lists.c.id)).scalar_one())
    else:
        _insert_numbered(conn, site_id, row)
    token = _store_new_token(conn, site_id, keys)
    site = get_site(conn, site_id)
    assert site is not None
    return site, token


def _insert_numbered(conn: Connection, site_id: int, row: dict[str, Any]) -> None:
    """Insert list ``site_id``. SQLite numbers a new row max(id) + 1, so later lists follow
    it by themselves; PostgreSQL's sequence does not look at the table, so it is moved past
    the highest id. The table lock (held to commit) keeps every other insert of a list, and
    so every ``nextval``, out until then: no automatic number can meet this one."""
    postgres = conn.dialect.name == "postgresql"
    if postgres:
        conn.exec_driver_sql("LOCK TABLE lists IN SHARE ROW EXCLUSIVE MODE")
    if get_site(conn, site_id) is not None:
        raise SiteIdTaken(site_id)
    conn.execute(sa.insert(lists).values(id=site_id, **row))
    if postgres:
        sequence = conn.exec_driver_sql("SELECT pg_get_serial_sequence('lists', 'id')").scalar()
        # Never backwards: numbers of deleted lists are not given out again.
        conn.exec_driver_sql(
            f"SELECT setval('{sequence}', greatest((SELECT max(id) FROM lists),"
            f" (SELECT last_value FROM {sequence})))"
        )


def read_token(conn: Connection, site: Site, keys: TokenKeys) -> str:
    """The site's token, created now if it has none yet (needs a write transaction).

    Raises ``SealError`` when the token was sealed under another secret key.
    """
    sealed = conn.execute(sa.select(lists.c.token_sealed).where(lists.c.id == site.id)).scalar()
    if sealed:
        return keys.unseal(sealed, site.id)
    return _store_new_token(conn, site.id, keys)


def rotate_token(conn: Connection, site: Site, keys: TokenKeys) -> str:
    """Replace the site's token: the old one stops working at once."""
    return _store_new_token(conn, site.id, keys)


def _store_new_token(conn: Connection, site_id: int, keys: TokenKeys) -> str:
    token = new_secret(TOKEN_LENGTH)
    conn.execute(
        sa.update(lists)
        .where(lists.c.id == site_id)
        .values(token_digest=keys.digest(token), token_sealed=keys.seal(token, site_id))
    )
    return token


def set_allowed_origins(conn: Connection, site: Site, origins: Sequence[str]) -> Site:
    """Store the origins allowed to call the look-up (already normalised; empty: any)."""
    stored = json.dumps(list(origins)) if origins else None
    conn.execute(sa.update(lists).where(lists.c.id == site.id).values(allowed_origins=stored))
    updated = get_site(conn, site.id)
    assert updated is not None
    return updated


def rename_site(conn: Connection, site: Site, name: str) -> Site:
    conn.execute(sa.update(lists).where(lists.c.id == site.id).values(name=name))
    renamed = get_site(conn, site.id)
    assert renamed is not None
    return renamed


@dataclass(frozen=True)
class SiteSegment:
    segment_id: str  # the EngageLab id (24 hex)
    commandersact_id: str  # the id the look-up answers (8 upper-case hex)
    name: str


def site_segments(conn: Connection, site: Site) -> list[SiteSegment]:
    """The site's segments, oldest first."""
    s = segments.c
    rows = conn.execute(
        sa.select(s.id, s.commandersact_id, s.name)
        .where(s.tenant_id == site.tenant_id, s.list_id == site.id)
        .order_by(s.number)
    )
    return [SiteSegment(row.id, row.commandersact_id, row.name) for row in rows]
