"""Steering SQLite's planner, which keeps no statistics here, onto the primary keys.

Without statistics SQLite rates an equality on an index's first column as selective as a
list of ids: ``tenant_id = ? AND id IN (...)`` on ``members`` took the (tenant_id, list_id,
id) index and a page of 10 members walked every index entry of the tenant. The tenant test
stays in the SQL (each query names its tenant, as a tenant-distributed database needs),
behind a unary ``+`` on SQLite, which keeps its planner off the indexes of that column;
PostgreSQL, which has statistics, gets the plain column.
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql import ColumnElement
from sqlalchemy.sql.functions import GenericFunction

from .schema import members


class no_index(GenericFunction[int]):
    """Its one argument, unchanged; on SQLite its indexes are not used to test it."""

    type = sa.BigInteger()
    inherit_cache = True


@compiles(no_index)
def _plain(element: Any, compiler: Any, **kw: Any) -> str:
    return str(compiler.process(element.clauses, **kw))


@compiles(no_index, "sqlite")
def _unary_plus(element: Any, compiler: Any, **kw: Any) -> str:
    return f"+{compiler.process(element.clauses, **kw)}"


def members_by_id(tenant_id: Any, ids: Any) -> ColumnElement[bool]:
    """The tenant's members whose id is in ``ids`` (a list or an expanding parameter)."""
    return sa.and_(no_index(members.c.tenant_id) == tenant_id, members.c.id.in_(ids))
