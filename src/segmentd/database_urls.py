"""Database addresses as segmentd reads them (a base module: settings, secrets, storage and
the analytics back-end use it)."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Literal
from urllib.parse import unquote, urlsplit


def is_sqlite(url: str) -> bool:
    return url.startswith("sqlite")


def normalize_url(url: str) -> str:
    """Accept ``postgresql://`` and ``postgres://`` as the psycopg 3 driver."""
    for prefix in ("postgresql://", "postgres://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix) :]
    return url


ANALYTICS_DATABASE = "segmentd"  # the ClickHouse database a chdb:// folder holds


@dataclass(frozen=True)
class AnalyticsTarget:
    """Where the analytics back-end runs: ``chdb`` (the embedded engine on the local folder
    ``path``) or ``clickhouse`` (a server at ``host``:``port``). ``database``: the ClickHouse
    database holding segmentd's tables."""

    engine: Literal["chdb", "clickhouse"]
    database: str
    path: str = ""
    host: str = ""
    port: int = 0
    user: str = ""
    password: str = field(default="", repr=False)


_DATABASE_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]{0,63}")
CLICKHOUSE_NATIVE_PORT = 9000


def parse_analytics_url(url: str) -> AnalyticsTarget:
    """``chdb:///absolute/folder`` or ``chdb://./relative/folder``, or
    ``clickhouse://[user[:password]@]host[:port]/database`` (port 9000 by default); raises
    ValueError saying what is wrong."""
    if url.startswith("chdb://"):
        path = url.removeprefix("chdb://")
        if not path or "\x00" in path:
            raise ValueError("a chdb:// URL names a folder: chdb:///path/to/folder")
        return AnalyticsTarget("chdb", ANALYTICS_DATABASE, path=path)
    if not url.startswith("clickhouse://"):
        raise ValueError("the analytics URL must start with chdb:// or clickhouse://")
    parts = urlsplit(url)
    try:
        port = CLICKHOUSE_NATIVE_PORT if parts.port is None else parts.port
    except ValueError:
        port = 0
    if not 1 <= port <= 65535:
        raise ValueError("the analytics URL's port must be a number from 1 to 65535")
    if not parts.hostname:
        raise ValueError("a clickhouse:// URL names a host: clickhouse://host:port/database")
    database = parts.path.removeprefix("/")
    if not _DATABASE_NAME.fullmatch(database):
        raise ValueError(
            "a clickhouse:// URL ends with a database name (letters, digits and _, "
            "not starting with a digit): clickhouse://host:port/database"
        )
    if parts.query or parts.fragment:
        raise ValueError("the analytics URL takes no query or fragment")
    return AnalyticsTarget(
        "clickhouse",
        database,
        host=parts.hostname,
        port=port,
        user=unquote(parts.username or ""),
        password=unquote(parts.password or ""),
    )
