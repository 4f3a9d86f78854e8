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
from sqlalchemy.sql import ColumnElement, TableClause
from sqlalchemy.sql.functions import GenericFunction
from sqlalchemy.sql.visitors import InternalTraversal, _TraverseInternalsType

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


class IndexedBy(TableClause):
    """A table read through one named index on SQLite (``INDEXED BY``), as itself elsewhere:
    for reads whose best index SQLite cannot tell without statistics."""

    inherit_cache = True
    _traverse_internals: _TraverseInternalsType = [  # noqa: RUF012 (SQLAlchemy's own type)
        *TableClause._traverse_internals,
        ("index", InternalTraversal.dp_string),
    ]

    def __init__(self, table: sa.Table, index: str) -> None:
        super().__init__(table.name, *(sa.column(c.name, c.type) for c in table.c))
        self.index = index


@compiles(IndexedBy)
def _table(element: IndexedBy, compiler: Any, **kw: Any) -> str:
    return str(compiler.visit_table(element, **kw))


@compiles(IndexedBy, "sqlite")
def _indexed_by(element: IndexedBy, compiler: Any, **kw: Any) -> str:
    text = str(compiler.visit_table(element, **kw))
    return f"{text} INDEXED BY {element.index}" if kw.get("asfrom") else text
