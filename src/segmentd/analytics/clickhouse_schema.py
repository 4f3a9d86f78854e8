"""segmentd's tables in ClickHouse: a copy of what conditions read, in the system of record's
own terms (``storage.schema``), so the compiler names the same columns.

- ``members``: one row per member, its system columns and the typed slots ``n1``.. (numbers,
  dates as days since 1970-01-01, birthdays as month * 100 + day: Float64) and ``t1``.. (text
  and dropdowns: String), as ``storage.member_columns`` places each field. A column that may
  hold no value is ``Nullable``: a missing value stays distinct from 0 or "", and the
  compiler tests presence with ``isNull`` (docs/analytics.md, "Presence of a value").
- ``member_tags``: one row per member and tag id.
- ``campaign_activity``: one row per member and campaign, with the first time of each event.
- ``segment_members``: each segment's published membership, by segment id, as the membership
  store reads it (a segment reference reads it, never the referenced condition).

Every row carries the ``load_id`` of the full load that wrote it, and ``tenant_loads`` says
which load of each tenant is current (the greatest recorded): queries read only that load's
rows, so a reload switches at once when it records itself, and rows of an older or an
interrupted load are never read (``full_load`` deletes them in the background). Deleting a
tenant's rows before writing them again was the first design: a delete on the wide
``members`` table took 0.3 to 0.5 s in chdb even for a few rows, and queries would have seen
the tenant half loaded.

Every table is a ``MergeTree`` whose key starts with the tenant; the member tables then the
member, so a member's rows sit together. On a cluster (``analytics_cluster.cluster_engine``)
these are the local tables (``<table>_local``) under ``Distributed`` ones sharded by
``cityHash64(tenant_id, member_id)``, so a member's rows, its activity and its memberships
share a shard and a condition runs shard-locally; ``ReplicatedMergeTree`` in production.
"""

from __future__ import annotations

from ..storage.schema import SLOTS
from .engine import Engine

MEMBERS = "members"
MEMBER_TAGS = "member_tags"
CAMPAIGN_ACTIVITY = "campaign_activity"
SEGMENT_MEMBERS = "segment_members"
TENANT_LOADS = "tenant_loads"
TABLES = (MEMBERS, MEMBER_TAGS, CAMPAIGN_ACTIVITY, SEGMENT_MEMBERS)  # the loaded copies

# Sharding key of the member tables' Distributed tables on a cluster (not used embedded).
SHARDING_KEY = "cityHash64(tenant_id, member_id)"

MEMBER_COLUMNS: tuple[tuple[str, str], ...] = (
    ("tenant_id", "UInt64"),
    ("load_id", "UInt64"),
    ("list_id", "UInt64"),
    ("member_id", "UInt64"),
    ("email_key", "String"),
    ("domain", "String"),
    ("name", "Nullable(String)"),
    ("phone", "Nullable(String)"),
    ("created_at", "Int64"),
    ("updated_at", "Int64"),
    ("unsubscribed_at", "Nullable(Int64)"),
    *((f"n{slot}", "Nullable(Float64)") for slot in SLOTS),
    *((f"t{slot}", "Nullable(String)") for slot in SLOTS),
)

_COLUMNS: dict[str, tuple[tuple[str, str], ...]] = {
    MEMBERS: MEMBER_COLUMNS,
    MEMBER_TAGS: (
        ("tenant_id", "UInt64"),
        ("load_id", "UInt64"),
        ("member_id", "UInt64"),
        ("tag_id", "UInt64"),
    ),
    CAMPAIGN_ACTIVITY: (
        ("tenant_id", "UInt64"),
        ("load_id", "UInt64"),
        ("member_id", "UInt64"),
        ("campaign_id", "UInt64"),
        ("sent_at", "Nullable(Int64)"),
        ("opened_at", "Nullable(Int64)"),
        ("clicked_at", "Nullable(Int64)"),
    ),
    SEGMENT_MEMBERS: (
        ("tenant_id", "UInt64"),
        ("load_id", "UInt64"),
        ("segment_id", "String"),
        ("member_id", "UInt64"),
    ),
    # One row per finished load: the greatest load_id of a tenant is its current copy.
    TENANT_LOADS: (
        ("tenant_id", "UInt64"),
        ("load_id", "UInt64"),
        ("finished_at", "Int64"),
        ("members", "UInt64"),
    ),
}

# A member's rows together (tenant, member first). The membership is read a segment at a
# time (a reference reads one segment's members), so its key puts the segment before the
# member: on a cluster the sharding key still places each row with its member.
_ORDER_BY = {
    MEMBERS: "(tenant_id, member_id)",
    MEMBER_TAGS: "(tenant_id, member_id, tag_id)",
    CAMPAIGN_ACTIVITY: "(tenant_id, member_id, campaign_id)",
    SEGMENT_MEMBERS: "(tenant_id, segment_id, member_id)",
    TENANT_LOADS: "(tenant_id, load_id)",
}


def columns(table: str) -> tuple[str, ...]:
    return tuple(name for name, _ in _COLUMNS[table])


def column_types(table: str) -> tuple[tuple[str, str], ...]:
    """(name, ClickHouse type) of each column of ``table``: the one list of them (the
    cluster's tables derive theirs from it)."""
    return _COLUMNS[table]


def create_table_sql(database: str, table: str, suffix: str = "") -> str:
    """``suffix``: the cluster's local tables are ``<table>_local``."""
    listed = ",\n    ".join(f"{name} {kind}" for name, kind in _COLUMNS[table])
    return (
        f"CREATE TABLE IF NOT EXISTS {database}.{table}{suffix} (\n    {listed}\n)\n"
        f"ENGINE = MergeTree ORDER BY {_ORDER_BY[table]}"
    )


def create_schema(engine: Engine, database: str) -> None:
    """Create the database and its tables where missing (safe to repeat)."""
    engine.execute(f"CREATE DATABASE IF NOT EXISTS {database}")
    for table in (*TABLES, TENANT_LOADS):
        engine.execute(create_table_sql(database, table))
