"""What the analytics code asks of a ClickHouse: run a statement, read rows, insert rows.

``ChdbEngine`` is ClickHouse embedded in the process (``chdb``, the optional ``analytics``
extra) on a local folder; a server client would answer the same three methods.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from threading import Lock
from typing import Any, Protocol, runtime_checkable

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


Column = tuple[str, str, Sequence[Any]]  # name, ClickHouse type, values (None for NULL)
Constant = int | str


@runtime_checkable
class ColumnInsert(Protocol):
    """An engine that takes a bulk insert's columns as they are, and the columns holding one
    value in every row (a load's version, a copy's segment) without a value per row."""

    def insert_columns(
        self, table: str, columns: Sequence[Column], constants: Mapping[str, Constant]
    ) -> None: ...


def insert_columns(
    engine: Engine, table: str, columns: Sequence[Column], constants: Mapping[str, Constant]
) -> None:
    """Insert rows given column by column into ``table`` (qualified), every row with the
    ``constants``: as they are where the engine takes them so (chdb's Arrow columns, a
    cluster driver's columns), else through ``insert``."""
    if not columns or not columns[0][2]:
        return
    if isinstance(engine, ColumnInsert):
        engine.insert_columns(table, columns, constants)
        return
    rows = len(columns[0][2])
    names = [name for name, _, _ in columns] + list(constants)
    values = [list(v) for _, _, v in columns] + [[c] * rows for c in constants.values()]
    engine.insert(table, names, values)


def literal(value: Constant) -> str:
    """A constant as SQL: an int as written, text quoted with its quote and backslashes
    escaped (ids and numbers segmentd made, never a client's text)."""
    if isinstance(value, int):
        return str(int(value))
    return "'" + value.replace("\\", "\\\\").replace("'", "\\'") + "'"


def _arrow_type(kind: str) -> Any:
    """The Arrow type of an integer column (nullable or not); None for any other."""
    import pyarrow as pa  # chdb's own dependency

    plain = kind.removeprefix("Nullable(").removesuffix(")")
    return {"UInt64": pa.uint64(), "Int64": pa.int64(), "UInt8": pa.uint8()}.get(plain)


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

    def insert_columns(
        self, table: str, columns: Sequence[Column], constants: Mapping[str, Constant]
    ) -> None:
        """Integer columns (ids, times, a membership copy's members) as Arrow arrays, built in
        C and read by ClickHouse as columns, the constants written by the ``SELECT``; other
        columns (text, numbers with NULLs) as ``insert`` sends them, Arrow arrays built from
        such Python values costing more than the JSON."""
        if not columns or not columns[0][2]:
            return
        types = [_arrow_type(kind) for _, kind, _ in columns]
        if any(kind is None for kind in types):
            rows = len(columns[0][2])
            names = [name for name, _, _ in columns] + list(constants)
            values = [values for _, _, values in columns]
            values += [[value] * rows for value in constants.values()]
            self.insert(table, names, values)
            return
        import pyarrow as pa

        arrays = {
            name: pa.array(values, kind)
            for (name, _, values), kind in zip(columns, types, strict=True)
        }
        _segmentd_columns = pa.table(arrays)  # read by its name: Python(_segmentd_columns)
        listed = ", ".join([*arrays, *constants])
        chosen = ", ".join([*arrays, *(literal(value) for value in constants.values())])
        self._session.query(
            f"INSERT INTO {table} ({listed}) SELECT {chosen} FROM Python(_segmentd_columns)",
            "Null",
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
