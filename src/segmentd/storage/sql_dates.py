"""SQL functions on dates that give the same answers on SQLite and PostgreSQL."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.functions import GenericFunction


class month_day(GenericFunction[int]):
    """``month * 100 + day`` of a date field's value (days since 1970-01-01), as
    ``domain.anniversaries.month_day_of`` computes it: both calendars are the proleptic
    Gregorian one."""

    type = sa.Integer()
    inherit_cache = True


@compiles(month_day, "sqlite")
def _month_day_sqlite(element: Any, compiler: Any, **kw: Any) -> str:
    days = compiler.process(element.clauses, **kw)
    return f"CAST(strftime('%m%d', ({days}) * 86400, 'unixepoch') AS INTEGER)"


@compiles(month_day, "postgresql")
def _month_day_postgresql(element: Any, compiler: Any, **kw: Any) -> str:
    days = compiler.process(element.clauses, **kw)
    return f"CAST(to_char(DATE '1970-01-01' + CAST({days} AS INTEGER), 'MMDD') AS INTEGER)"
