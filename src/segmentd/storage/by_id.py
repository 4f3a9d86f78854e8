"""Members named by id, found by their primary key on both databases.

SQLite keeps no statistics here, and without them it takes ``tenant_id = ?`` on the
(tenant_id, list_id, id) index for about as selective as ``id IN (...)`` on the primary key:
a page of 10 members walked the tenant's million index entries (100 ms; issue #5). The
tenant test stays in the SQL (each query names its tenant, as a tenant-distributed database
needs), but on SQLite behind a unary ``+``, which keeps its planner off that index.
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
