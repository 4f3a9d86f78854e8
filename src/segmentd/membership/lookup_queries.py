"""The look-up's statements: a site's visitors by tcid, and the segments whose published
generation holds them, each answered as one row (``joined_pairs``).

``membership.visitor_reader`` compiles them once per batch size and runs them.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.functions import GenericFunction

from ..storage.schema import members, segment_members, segments
from ..storage.sites import Site
from .complement import held


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
    or for a complement one left out (``membership.complement``).

    Two statements (visitors, then this) rather than one join: without table statistics
    SQLite may start a join from the wrong side. For the same reason this is an outer join
    from ``segments`` with every condition on ``segment_members`` in its ON clause, an order
    SQLite keeps: an inner join let it seek ``segment_members`` by the tenant alone and walk
    all of the tenant's rows.
    """
    sm, s = segment_members.c, segments.c
    tenant: sa.BindParameter[int] = sa.bindparam("tenant_id")
    selects = [sa.select(key.label("member_id")) for key in _keys(count, sa.BigInteger())]
    # UNION, not UNION ALL: a batch repeats keys to fill a prepared size (``visitor_reader``).
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
            held(keys.c.member_id, present, s.horizon),
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
