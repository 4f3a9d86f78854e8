"""Members of a list: how many satisfy a condition, one page of them, and which of some
emails or ids are its members.

Every query filters on the tenant.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql
from sqlalchemy.engine import Connection
from sqlalchemy.sql import ColumnElement

from .schema import members, segment_exclusions


def _in_list(tenant_id: int, list_id: int) -> list[ColumnElement[bool]]:
    return [members.c.tenant_id == tenant_id, members.c.list_id == list_id]


def count_matching(
    conn: Connection,
    tenant_id: int,
    list_id: int,
    where: ColumnElement[bool],
    excluded_by: str | None = None,
) -> int:
    """Members of the list that satisfy ``where`` (less the exclusions of segment ``excluded_by``):
    the count a build of that condition would publish now."""
    return int(conn.execute(count_query(tenant_id, list_id, where, excluded_by)).scalar_one())


def count_query(
    tenant_id: int, list_id: int, where: ColumnElement[bool], excluded_by: str | None = None
) -> sa.Select[Any]:
    """The statement of ``count_matching``."""
    query = sa.select(sa.func.count()).where(*_in_list(tenant_id, list_id), where)
    if excluded_by is not None:
        ex = segment_exclusions.c
        query = query.where(
            ~sa.exists().where(
                ex.tenant_id == tenant_id,
                ex.segment_id == excluded_by,
                ex.member_id == members.c.id,
            )
        )
    return query


def count_in_range_query(
    tenant_id: int,
    list_id: int,
    ids: tuple[int, int],
    where: ColumnElement[bool],
    excluded_by: str | None = None,
) -> sa.Select[Any]:
    """The statement of ``count_matching`` over the members whose id is in (lo, hi] = ``ids``."""
    ranged = sa.and_(members.c.id > ids[0], members.c.id <= ids[1], where)
    return count_query(tenant_id, list_id, ranged, excluded_by)


def member_id_span(conn: Connection, tenant_id: int, list_id: int) -> tuple[int, int] | None:
    """The lowest and highest member id of the list (None when it has no member)."""
    # One aggregate a subquery: SQLite reads the index's first or last entry only for a
    # lone min() or max(), and walked every member of the list for both at once.
    ends = [
        sa.select(end(members.c.id)).where(*_in_list(tenant_id, list_id)).scalar_subquery()
        for end in (sa.func.min, sa.func.max)
    ]
    first, last = conn.execute(sa.select(*ends)).one()
    return None if first is None else (int(first), int(last))


def list_member_page(
    conn: Connection,
    tenant_id: int,
    list_id: int,
    *,
    where: ColumnElement[bool] | None = None,
    offset: int = 0,
    limit: int = 20,
) -> tuple[list[int], int]:
    """Ids of one page of a list's members (by id) satisfying ``where``, and how many in all."""
    filters = [*_in_list(tenant_id, list_id)]
    if where is not None:
        filters.append(where)
    total = conn.execute(sa.select(sa.func.count()).where(*filters)).scalar_one()
    ids = conn.execute(
        sa.select(members.c.id).where(*filters).order_by(members.c.id).offset(offset).limit(limit)
    ).scalars()
    return [int(member_id) for member_id in ids], int(total)


def email_or_name_contains(text: str) -> ColumnElement[bool]:
    """Members whose email or name contains ``text``, ignoring case (ASCII case on SQLite);
    ``%`` and ``_`` are matched as themselves."""
    wanted = text.lower()
    return sa.or_(
        sa.func.lower(members.c.email).contains(wanted, autoescape=True),
        sa.func.lower(sa.func.coalesce(members.c.name, "")).contains(wanted, autoescape=True),
    )


def one_of(
    conn: Connection, column: sa.ColumnElement[Any], values: Sequence[Any]
) -> ColumnElement[bool]:
    """``column IN values``; on PostgreSQL one array parameter (psycopg parses a statement of
    many parameters anew on every call)."""
    if conn.dialect.name == "postgresql":
        return column == sa.any_(sa.literal(list(values), postgresql.ARRAY(column.type)))
    return column.in_(values)


def chunk_size(conn: Connection) -> int:
    """Values per ``one_of``: an array on PostgreSQL, an IN list well under SQLite's limit."""
    return 10_000 if conn.dialect.name == "postgresql" else 500


def ids_by_email_key(
    conn: Connection, tenant_id: int, list_id: int, keys: Sequence[str]
) -> dict[str, int]:
    """{email key: member id} for the list's members with these keys (``domain.emails``)."""
    wanted, size = sorted(set(keys)), chunk_size(conn)
    found: dict[str, int] = {}
    for start in range(0, len(wanted), size):
        chunk = wanted[start : start + size]
        rows = conn.execute(
            sa.select(members.c.email_key, members.c.id).where(
                *_in_list(tenant_id, list_id), one_of(conn, members.c.email_key, chunk)
            )
        )
        found.update({row.email_key: int(row.id) for row in rows})
    return found


def listed_ids(conn: Connection, tenant_id: int, list_id: int, ids: Sequence[int]) -> set[int]:
    """Those of ``ids`` that are members of the list."""
    wanted, size = sorted(set(ids)), chunk_size(conn)
    found: set[int] = set()
    for start in range(0, len(wanted), size):
        chunk = wanted[start : start + size]
        rows = conn.execute(
            sa.select(members.c.id).where(
                *_in_list(tenant_id, list_id), one_of(conn, members.c.id, chunk)
            )
        )
        found.update(int(member_id) for member_id in rows.scalars())
    return found
