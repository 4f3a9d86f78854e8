"""A list of ids sent to the database as one parameter and read there as rows.

A statement that needs thousands of ids Python holds (the members the analytics back-end
chose for a range) takes them as one JSON array on SQLite (``json_each``) or one array on
PostgreSQL (``unnest``): the database expands them, where a row per id sent from Python
(``executemany``) cost most of such a build (docs/performance.md).
"""

from __future__ import annotations

import json
from collections.abc import Collection
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql


def id_rows(dialect: str, ids: Collection[int], name: str) -> sa.Select[Any]:
    """``SELECT id`` of each of ``ids`` (a column named ``id``), the list bound as the
    parameter ``name``; ``dialect``: the database's name."""
    ordered = sorted(ids)
    if dialect == "postgresql":
        array = sa.bindparam(name, ordered, type_=postgresql.ARRAY(sa.BigInteger))
        return sa.select(sa.func.unnest(array).label("id"))
    each = sa.func.json_each(sa.bindparam(name, json.dumps(ordered))).table_valued("value")
    return sa.select(each.c.value.label("id"))
