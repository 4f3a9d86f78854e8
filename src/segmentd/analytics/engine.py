"""What the analytics code asks of a ClickHouse: run a statement, read rows, insert rows.

``ChdbEngine`` is ClickHouse embedded in the process (``chdb``, the optional ``analytics``
extra) on a local folder; a server client would answer the same three methods.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from threading import Lock
from typing import Any, Protocol

from ..database_urls import AnalyticsTarget

Params = Mapping[str, Any]  # ``{name:Type}`` placeholders of a statement, bound by ClickHouse


class AnalyticsUnavailable(RuntimeError):
    """The engine cannot run here (chdb not installed)."""


def engine_failures() -> tuple[type[Exception], ...]:
    """What an engine raises when ClickHouse could not answer (a statement refused, a server
    unreachable, a connection cut): the drivers' errors and the operating system's. Any
    other exception is a fault of segmentd's own code."""
    found: list[type[Exception]] = [AnalyticsUnavailable, OSError, EOFError]
    try:
        from chdb import ChdbError

        found.append(ChdbError)
    except ImportError:  # the optional extra is missing
        pass
    try:
        from clickhouse_driver.errors import Error as DriverError

        found.append(DriverError)
    except ImportError:
        pass
    return tuple(found)


class Engine(Protocol):
    def execute(self, sql: str, params: Params | None = None) -> None: ...

    def rows(self, sql: str, params: Params | None = None) -> list[list[Any]]: ...

    def insert(self, table: str, names: Sequence[str], columns: Sequence[Sequence[Any]]) -> None:
        """Insert rows into ``table`` (qualified), given column by column: ``columns[i]`` the
        values of column ``names[i]``, None for NULL."""
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

    def insert(self, table: str, names: Sequence[str], columns: Sequence[Sequence[Any]]) -> None:
        if not columns or not columns[0]:
            return
        # JSON after FORMAT is data, never SQL: values need no escaping beyond JSON's own. One
        # array per column: one encoding call for the batch (a call per row took as long as
        # ClickHouse's own work).
        body = json.dumps(columns, ensure_ascii=False)
        listed = ", ".join(names)
        self._session.query(
            f"INSERT INTO {table} ({listed}) FORMAT JSONCompactColumns\n{body}", "Null"
        )

    def close(self) -> None:
        self._session.close()


def open_engine(target: AnalyticsTarget) -> Engine:
    """The engine ``SEGMENTD_ANALYTICS_URL`` names (for now, only the embedded one)."""
    if target.engine == "chdb":
        return ChdbEngine(target.path)
    raise AnalyticsUnavailable(
        "open_engine opens the embedded engine only: a cluster is opened by "
        "analytics_cluster.cluster_engine.open_cluster"
    )


_shared: dict[str, Engine] = {}
_shared_lock = Lock()


def shared_engine(target: AnalyticsTarget) -> Engine:
    """The process's one engine of ``target``: chdb keeps one session per process, so the
    builds, the previews and the drain of a process share it (never closed: it lives as long
    as the process)."""
    key = target.path if target.engine == "chdb" else f"{target.host}:{target.port}"
    with _shared_lock:
        if key not in _shared:
            _shared[key] = open_engine(target)
        return _shared[key]
