"""A ``clickhouse-server`` behind the analytics engine's three methods (``execute``, ``rows``,
``insert``, as the embedded engine answers them), so the same statements run on a server.

Statements carry ``{name:Type}`` placeholders, which servers bind only from 19.x on: here the
client binds them (``clickhouse-driver`` escapes each value), cast to the placeholder's type,
so they run on 18.16 too. (18.16 reads ``x IN <array>`` as one value, not a set: an array
placeholder is tested with ``has(array, x)``.)
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import Any

from clickhouse_driver import Client

_PLACEHOLDER = re.compile(r"\{(\w+):([^{}]+)\}")
_INSERT_SETTINGS = {"insert_distributed_sync": 1}  # see shard_client


def bind_placeholders(sql: str) -> str:
    """``{name:Type}`` as the driver's ``%(name)s``, cast to ``Type``; other ``%`` doubled
    (the driver formats the statement with ``%`` when given values)."""
    escaped = sql.replace("%", "%%")
    return _PLACEHOLDER.sub(lambda m: f"CAST(%({m[1]})s AS {m[2]})", escaped)


class ServerEngine:
    def __init__(self, host: str, port: int) -> None:
        self._client = Client(host, port=port)

    def execute(self, sql: str, params: Mapping[str, Any] | None = None) -> None:
        self._client.execute(bind_placeholders(sql), dict(params or {}))

    def rows(self, sql: str, params: Mapping[str, Any] | None = None) -> list[list[Any]]:
        found = self._client.execute(bind_placeholders(sql), dict(params or {}))
        return [list(row) for row in found]

    def insert(self, table: str, rows: Sequence[Mapping[str, Any]]) -> None:
        """Insert ``rows`` (column -> value, None for NULL) into ``table`` (qualified)."""
        if not rows:
            return
        names = list(rows[0])
        self._client.execute(
            f"INSERT INTO {table} ({', '.join(names)}) VALUES",
            [tuple(row[name] for name in names) for row in rows],
            settings=_INSERT_SETTINGS,
        )

    def close(self) -> None:
        self._client.disconnect()
