"""Sites (Commanders Act): a site is a list, ``site`` is its id; each has a secret token.

The token is stored as a keyed digest (to verify it) and sealed (so its owner can read it
back); see ``segmentd.secrets``. Lists created without a token (the tenant's default list)
get one the first time their owner asks for it.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.functions import GenericFunction

from ..ids import new_secret
from ..secrets import TokenKeys
from ..timefmt import now
from . import membership
from .schema import lists, members, segment_members, segments

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


class joined_pairs(GenericFunction[str]):  # lower case, as SQL function names
    """``a:b,c:d``: every (a, b) pair of a group as one string, so the look-up reads one row.

    One row, not one per pair: drivers release the GIL per row fetched, and under load each
    re-acquisition can wait for the event loop's thread.
    """

    type = sa.Text()
    inherit_cache = True


@compiles(joined_pairs, "sqlite")
def _joined_pairs_sqlite(element: Any, compiler: Any, **kw: Any) -> str:
    first, second = (compiler.process(arg, **kw) for arg in element.clauses)
    return f"group_concat(CAST({first} AS TEXT) || ':' || {second}, ',')"


@compiles(joined_pairs, "postgresql")
def _joined_pairs_postgresql(element: Any, compiler: Any, **kw: Any) -> str:
    first, second = (compiler.process(arg, **kw) for arg in element.clauses)
    return f"string_agg(CAST({first} AS TEXT) || ':' || {second}, ',')"


def split_pairs(joined: str | None) -> list[tuple[int, str]]:
    """The (member id, text) pairs of a ``joined_pairs`` value (ids and texts hold no ``:``
    or ``,``: tcids are digits, Commanders Act segment ids hex)."""
    if not joined:
        return []
    pairs = (item.split(":", 1) for item in joined.split(","))
    return [(int(member_id), text) for member_id, text in pairs]


def visitor_members_query(count: int) -> sa.Select[Any]:
    """``joined_pairs`` of (member id, tcid) for up to ``count`` visitors of a site, by the
    unique (tenant_id, list_id, tcid) index: bind ``tenant_id``, ``site_id``, ``key_0``.."""
    m = members.c
    return sa.select(joined_pairs(m.id, m.tcid)).where(
        m.tenant_id == sa.bindparam("tenant_id"),
        m.list_id == sa.bindparam("site_id"),
        m.tcid.in_(_keys(count)),
    )


def member_segments_query(count: int) -> sa.Select[Any]:
    """``joined_pairs`` of (member id, Commanders Act segment id) for up to ``count`` members
    of a site: the site's segments published at least once whose published generation holds
    them (the id is read from the segment rows the query reads anyway). Bind
    ``tenant_id``, ``site_id``, ``key_0``..; it reads the site's segments by their
    (tenant_id, list_id) index, then seeks each (segment, generation, member) on the primary
    key of ``segment_members``, the only way into that table. A row there means a member,
    or for a complement one left out (``storage.membership``).

    Two statements (visitors, then this) rather than one join: without table statistics
    SQLite may start a join from the wrong side. For the same reason this is an outer join
    from ``segments`` with every condition on ``segment_members`` in its ON clause, an order
    SQLite keeps: an inner join let it seek ``segment_members`` by the tenant alone and walk
    all of the tenant's rows.
    """
    sm, s = segment_members.c, segments.c
    tenant: sa.BindParameter[int] = sa.bindparam("tenant_id")
    selects = [sa.select(key.label("member_id")) for key in _keys(count, sa.BigInteger())]
    # UNION, not UNION ALL: a batch repeats keys to fill a prepared size (``reader``).
    keys = (selects[0] if count == 1 else sa.union(*selects)).subquery("visitor")
    rows = sa.and_(
        sm.tenant_id == tenant,
        sm.segment_number == s.number,
        sm.generation == s.generation,
        sm.member_id == keys.c.member_id,
    )
    present = sm.member_id.is_not(None)
    return (
        sa.select(joined_pairs(keys.c.member_id, s.commandersact_id))
        .select_from(segments.join(keys, sa.true()).outerjoin(segment_members, rows))
        .where(
            s.tenant_id == tenant,
            s.list_id == sa.bindparam("site_id"),
            s.generation > 0,
            membership.held(keys.c.member_id, present, s.horizon),
        )
    )


def _keys(count: int, type_: sa.types.TypeEngine[Any] | None = None) -> list[sa.BindParameter[Any]]:
    """``key_0`` .. ``key_{count - 1}``; typed where no column gives them a type."""
    return [sa.bindparam(f"key_{index}", type_=type_) for index in range(count)]


def lookup_params(site: Site, keys: Sequence[Any]) -> dict[str, Any]:
    named = {f"key_{index}": key for index, key in enumerate(keys)}
    return {"tenant_id": site.tenant_id, "site_id": site.id, **named}


def segments_by_visitor(
    visitors: Iterable[tuple[int, str]], memberships: Iterable[tuple[int, str]]
) -> dict[str, list[str]]:
    """{tcid: sorted segment ids} from (member id, tcid) and (member id, Commanders Act
    segment id) pairs."""
    tcid_of = dict(visitors)
    found: dict[str, list[str]] = {}
    for member_id, segment_id in memberships:
        found.setdefault(tcid_of[member_id], []).append(segment_id)
    for ids in found.values():
        ids.sort()
    return found
