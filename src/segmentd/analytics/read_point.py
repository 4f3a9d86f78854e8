"""What a query reads of a tenant's copy: its versioned rows not older than the tenant's last
full load (the floor), and, for each segment, its newest finished membership copy.

Read from ClickHouse before each question (two small reads), so every process of a cluster
reads the same point, and a load or a copy cut short (no row in ``tenant_loads`` or
``segment_copies``) is never read.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from .clickhouse_schema import SEGMENT_COPIES, TENANT_LOADS
from .engine import Engine


@dataclass(frozen=True)
class SegmentCopy:
    copy_id: int
    generation: int  # the published generation it copied
    history_seq: int  # the segment's newest membership change it holds (``change_log``)


@dataclass(frozen=True)
class ReadPoint:
    floor: int  # the version of the tenant's last full load (0: never loaded)
    copies: dict[str, SegmentCopy] = field(default_factory=dict)

    def copy_id(self, segment_id: str) -> int:
        """The copy a reference to ``segment_id`` reads (0: none, no members)."""
        found = self.copies.get(segment_id)
        return 0 if found is None else found.copy_id


def current_load(engine: Engine, database: str, tenant_id: int) -> int:
    """The version of the tenant's last finished full load (0: never loaded)."""
    rows = engine.rows(
        f"SELECT max(load_id) FROM {database}.{TENANT_LOADS} WHERE tenant_id = {{t:UInt64}}",
        {"t": tenant_id},
    )
    return int(rows[0][0]) if rows else 0


def segment_copies(engine: Engine, database: str, tenant_id: int) -> dict[str, SegmentCopy]:
    """The newest finished copy of each of the tenant's segments."""
    rows = engine.rows(
        "SELECT segment_id, max(copy_id), argMax(generation, copy_id), "
        f"argMax(history_seq, copy_id) "
        f"FROM {database}.{SEGMENT_COPIES} WHERE tenant_id = {{t:UInt64}} GROUP BY segment_id",
        {"t": tenant_id},
    )
    return {str(s): SegmentCopy(int(c), int(g), int(h)) for s, c, g, h in rows}


def read_point(engine: Engine, database: str, tenant_id: int) -> ReadPoint:
    return ReadPoint(
        current_load(engine, database, tenant_id), segment_copies(engine, database, tenant_id)
    )
