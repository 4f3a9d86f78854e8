"""A boolean written one way for SQLite and another for PostgreSQL, where the two planners
need different SQL for the same answer (``condition_sql.activity_rows`` says why)."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql import ColumnElement
from sqlalchemy.sql.visitors import InternalTraversal, _TraverseInternalsType


class PerDialect(ColumnElement[bool]):
    """``sqlite`` on SQLite, ``other`` on any other database; both must mean the same."""

    type = sa.Boolean()
    inherit_cache = True
    _is_implicitly_boolean = True  # a test, not a value: no "= 1" after it in a WHERE
    _traverse_internals: _TraverseInternalsType = [  # noqa: RUF012 (SQLAlchemy's own type)
        ("sqlite", InternalTraversal.dp_clauseelement),
        ("other", InternalTraversal.dp_clauseelement),
    ]

    def __init__(self, sqlite: ColumnElement[bool], other: ColumnElement[bool]) -> None:
        self.sqlite = sqlite
        self.other = other


@compiles(PerDialect)
def _other(element: PerDialect, compiler: Any, **kw: Any) -> str:
    return str(compiler.process(element.other, **kw))


@compiles(PerDialect, "sqlite")
def _sqlite(element: PerDialect, compiler: Any, **kw: Any) -> str:
    return str(compiler.process(element.sqlite, **kw))
