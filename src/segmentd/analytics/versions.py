"""The version a load, a drain batch or a membership copy writes its rows at: the clock in
nanoseconds, kept above the tenant's last load and copy, so the newest write wins (a
``FINAL`` read takes each key's greatest version).

Only the small record tables are read (``tenant_loads``, ``segment_copies``): the greatest
``version`` of the member tables would read a column of every row of the tenant (billions of
activity rows at scale) at every sync. Between loads the order of drains is the clock's: a
process keeps its own versions increasing (``outbox_apply``), and the machines' clocks are
assumed to be slewed (NTP), not stepped back, across processes.
"""

from __future__ import annotations

import time

from .clickhouse_schema import SEGMENT_COPIES, TENANT_LOADS
from .engine import Engine

_HIGHEST = {SEGMENT_COPIES: "copy_id", TENANT_LOADS: "load_id"}


def highest_version(engine: Engine, database: str, tenant_id: int) -> int:
    """The greatest copy or load id of the tenant (0: none)."""
    parts = " UNION ALL ".join(
        f"SELECT max({column}) AS v FROM {database}.{table} WHERE tenant_id = {{t:UInt64}}"
        for table, column in _HIGHEST.items()
    )
    rows = engine.rows(f"SELECT max(v) FROM ({parts})", {"t": tenant_id})
    return int(rows[0][0]) if rows and rows[0][0] is not None else 0


def next_version(engine: Engine, database: str, tenant_id: int) -> int:
    """The clock in nanoseconds, or one more than the tenant's last load or copy when the
    clock is behind it."""
    return max(highest_version(engine, database, tenant_id) + 1, time.time_ns())
