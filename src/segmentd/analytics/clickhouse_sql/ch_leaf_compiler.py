"""What a ClickHouse leaf compiler takes and gives: its leaf and the ``Scope`` of the query
(the tenant, the database, what it reads of the copy, the statement's parameters); a boolean
expression over the ``members`` table, never NULL (a leaf is true or false, as the evaluator
says). Every table is read through the scope (``table``, ``live``): the newest live version
of each row, on the embedded engine and on a cluster alike.

Values a client wrote (text, segment ids) never enter the SQL text: they are bound as
``{name:Type}`` parameters, which ClickHouse substitutes as values. Numbers are written as
literals from the parsed int or float (never from the client's text).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from ..clickhouse_schema import MEMBERS, VERSIONED
from ..read_point import ReadPoint

LeafCompiler = Callable[[Any, "Scope"], str]


@dataclass
class Scope:
    """``point``: what the query reads of the tenant's copy (``read_point``); ``members``:
    the member ids (lo, hi] it reads, None for all (a build reads a chunk at a time)."""

    tenant_id: int
    database: str
    point: ReadPoint
    params: dict[str, Any] = field(default_factory=dict)
    members: tuple[int, int] | None = None

    def text(self, value: str) -> str:
        """A placeholder bound to ``value`` (a String)."""
        name = f"p{len(self.params)}"
        self.params[name] = value
        return f"{{{name}:String}}"

    def live(self, table: str) -> str:
        """The tenant's rows of ``table`` the query reads (every table's test): of a versioned
        table, each key's newest row (read ``FINAL``; the test applies after the merge of the
        versions, on 18.16 as on 26.x) when it is live and not older than the last full load;
        of the membership, the tenant's rows (``ch_segment`` picks the segment's copy). With
        ``members``, only their rows: every set a leaf builds holds one chunk, not the tenant
        (each table's key has the member after the tenant, or the segment and copy)."""
        tenant = f"tenant_id = {number(self.tenant_id)}"
        if self.members is not None:
            lo, hi = self.members
            tenant += f" AND member_id > {number(lo)} AND member_id <= {number(hi)}"
        if table not in VERSIONED:
            return tenant
        return f"{tenant} AND version >= {number(self.point.floor)} AND deleted = 0"

    def table(self, name: str) -> str:
        """The table in a FROM clause (``FINAL``: the newest version of each key)."""
        final = " FINAL" if name in VERSIONED else ""
        return f"{self.database}.{name}{final}"

    def member_in(self, table: str, where: str, having: str = "") -> str:
        """The member at hand has rows of the tenant's ``table`` passing ``where`` (and, as a
        group, ``having``): a set built once per query and looked up per member."""
        rows = f"SELECT member_id FROM {self.table(table)} WHERE {self.live(table)}"
        if where:
            rows += f" AND {where}"
        if having:
            rows += f" GROUP BY member_id HAVING {having}"
        return f"({MEMBERS}.member_id IN ({rows}))"


def number(value: Any) -> str:
    """A number's literal: an int as written, a float by its shortest exact form."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise TypeError(f"not a number: {value!r}")
    if isinstance(value, float) and not math.isfinite(value):
        raise ValueError(f"not a finite number: {value!r}")
    return str(value) if isinstance(value, int) else repr(value)


def both(*tests: str) -> str:
    return "(" + " AND ".join(tests) + ")" if tests else "1"


def either(*tests: str) -> str:
    return "(" + " OR ".join(tests) + ")" if tests else "0"
