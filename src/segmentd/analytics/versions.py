"""The version a load, a drain batch or a membership copy writes its rows at: above every
version and copy the tenant has in ClickHouse, so the newest write wins (a ``FINAL`` read
takes each key's greatest version)."""

from __future__ import annotations

import time

from .clickhouse_schema import SEGMENT_COPIES, TENANT_LOADS, VERSIONED
from .engine import Engine

_HIGHEST = {
    **{table: "version" for table in VERSIONED},
    SEGMENT_COPIES: "copy_id",
    TENANT_LOADS: "load_id",
}


def highest_version(engine: Engine, database: str, tenant_id: int) -> int:
    """The greatest version, copy or load id the tenant's rows carry (0: none)."""
    parts = " UNION ALL ".join(
        f"SELECT max({column}) AS v FROM {database}.{table} WHERE tenant_id = {{t:UInt64}}"
        for table, column in _HIGHEST.items()
    )
    rows = engine.rows(f"SELECT max(v) FROM ({parts})", {"t": tenant_id})
    return int(rows[0][0]) if rows and rows[0][0] is not None else 0


def next_version(engine: Engine, database: str, tenant_id: int) -> int:
    """The clock in nanoseconds, or one more than the greatest version written when the
    clock is behind it."""
    return max(highest_version(engine, database, tenant_id) + 1, time.time_ns())
