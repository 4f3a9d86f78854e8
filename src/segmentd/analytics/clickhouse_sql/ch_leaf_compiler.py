"""What a ClickHouse leaf compiler takes and gives: its leaf and the ``Scope`` of the query
(the tenant, the database, the statement's parameters); a boolean expression over the
``members`` table, never NULL (a leaf is true or false, as the evaluator says).

Values a client wrote (text, segment ids) never enter the SQL text: they are bound as
``{name:Type}`` parameters, which ClickHouse substitutes as values. Numbers are written as
literals from the parsed int or float (never from the client's text).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from ..clickhouse_schema import MEMBERS

LeafCompiler = Callable[[Any, "Scope"], str]


@dataclass
class Scope:
    """``load_id``: the tenant's load the query reads (``full_load.current_load``)."""

    tenant_id: int
    database: str
    load_id: int
    params: dict[str, Any] = field(default_factory=dict)

    def text(self, value: str) -> str:
        """A placeholder bound to ``value`` (a String)."""
        name = f"p{len(self.params)}"
        self.params[name] = value
        return f"{{{name}:String}}"

    def loaded(self) -> str:
        """Rows of the tenant's load (every table's test)."""
        return f"tenant_id = {number(self.tenant_id)} AND load_id = {number(self.load_id)}"

    def table(self, name: str) -> str:
        return f"{self.database}.{name}"

    def member_in(self, table: str, where: str, having: str = "") -> str:
        """The member at hand has rows of the tenant's ``table`` passing ``where`` (and, as a
        group, ``having``): a set built once per query and looked up per member."""
        rows = f"SELECT member_id FROM {self.table(table)} WHERE {self.loaded()}"
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
