"""What the analytics code asks of a ClickHouse: run a statement, read rows, insert rows.

``ChdbEngine`` is ClickHouse embedded in the process (``chdb``, the optional ``analytics``
extra) on a local folder; a server client would answer the same three methods.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any, Protocol

Params = Mapping[str, Any]  # ``{name:Type}`` placeholders of a statement, bound by ClickHouse


class AnalyticsUnavailable(RuntimeError):
    """The engine cannot run here (chdb not installed)."""


class Engine(Protocol):
    def execute(self, sql: str, params: Params | None = None) -> None: ...

    def rows(self, sql: str, params: Params | None = None) -> list[list[Any]]: ...

    def insert(self, table: str, rows: Sequence[Mapping[str, Any]]) -> None:
        """Insert ``rows`` (column -> value, None for NULL) into ``table`` (qualified)."""
        ...

    def close(self) -> None: ...


class ChdbEngine:
    """The embedded engine on the folder ``path`` (created if missing). chdb keeps one
    session per process: close it before opening another."""

    def __init__(self, path: str) -> None:
        try:
            from chdb import session
        except ImportError as exc:  # the optional extra is missing
            raise AnalyticsUnavailable(
                "the chdb engine needs the analytics extra: pip install 'segmentd[analytics]'"
            ) from exc
        self._session = session.Session(path)
        # 64-bit integers (member ids) as JSON numbers, not strings.
        self._session.query("SET output_format_json_quote_64bit_integers = 0", "Null")

    def execute(self, sql: str, params: Params | None = None) -> None:
        self._session.query(sql, "Null", params=dict(params or {}))

    def rows(self, sql: str, params: Params | None = None) -> list[list[Any]]:
        result = self._session.query(sql, "JSONCompact", params=dict(params or {}))
        text = result.data()
        return [] if not text else list(json.loads(text)["data"])

    def insert(self, table: str, rows: Sequence[Mapping[str, Any]]) -> None:
        if not rows:
            return
        # JSON after FORMAT is data, never SQL: values need no escaping beyond JSON's own.
        body = "\n".join(json.dumps(row, ensure_ascii=False) for row in rows)
        self._session.query(f"INSERT INTO {table} FORMAT JSONEachRow\n{body}", "Null")

    def close(self) -> None:
        self._session.close()
