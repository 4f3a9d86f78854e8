"""The analytics tables on a cluster: on each shard a local ``ReplacingMergeTree``
(``<table>_local``), and over them a ``Distributed`` table (``<table>``) that shards rows by
``cityHash64(tenant_id, member_id)``: a member's row, tags and activity share a shard, so
conditions on them and GROUP BY member run shard-locally.

Each row carries ``version`` (the newest wins when parts merge, and in ``FINAL`` reads) and
``deleted`` (a tombstone: the outbox drain writes one for a row gone from the system of
record). Reads take ``FINAL ... WHERE deleted = 0``. Production uses ``ReplicatedMergeTree``
with the same keys (docs/analytics-cluster.md). The columns are those of the system of record
(``storage.schema``), in its names, as the embedded engine's tables.
"""

from __future__ import annotations

from ..storage.schema import SLOTS
from .shard_client import ClusterClient

MEMBERS = "members"
MEMBER_TAGS = "member_tags"
CAMPAIGN_ACTIVITY = "campaign_activity"
TABLES = (MEMBERS, MEMBER_TAGS, CAMPAIGN_ACTIVITY)
SHARDING_KEY = "cityHash64(tenant_id, member_id)"
_BOOKKEEPING = (("version", "UInt64"), ("deleted", "UInt8"))

COLUMNS: dict[str, tuple[tuple[str, str], ...]] = {
    MEMBERS: (
        ("tenant_id", "UInt64"),
        ("member_id", "UInt64"),
        ("list_id", "UInt64"),
        ("email_key", "String"),
        ("domain", "String"),
        ("name", "Nullable(String)"),
        ("phone", "Nullable(String)"),
        ("created_at", "Int64"),
        ("updated_at", "Int64"),
        ("unsubscribed_at", "Nullable(Int64)"),
        *((f"n{slot}", "Nullable(Float64)") for slot in SLOTS),
        *((f"t{slot}", "Nullable(String)") for slot in SLOTS),
    ),
    MEMBER_TAGS: (("tenant_id", "UInt64"), ("member_id", "UInt64"), ("tag_id", "UInt64")),
    CAMPAIGN_ACTIVITY: (
        ("tenant_id", "UInt64"),
        ("member_id", "UInt64"),
        ("campaign_id", "UInt64"),
        ("sent_at", "Nullable(Int64)"),
        ("opened_at", "Nullable(Int64)"),
        ("clicked_at", "Nullable(Int64)"),
    ),
}

# The row's identity: the tenant and the member first (a member's rows together).
KEYS = {
    MEMBERS: ("tenant_id", "member_id"),
    MEMBER_TAGS: ("tenant_id", "member_id", "tag_id"),
    CAMPAIGN_ACTIVITY: ("tenant_id", "member_id", "campaign_id"),
}


def columns(table: str) -> tuple[str, ...]:
    return tuple(name for name, _ in COLUMNS[table]) + tuple(n for n, _ in _BOOKKEEPING)


def local_table_sql(database: str, table: str) -> str:
    listed = ",\n    ".join(f"{n} {kind}" for n, kind in (*COLUMNS[table], *_BOOKKEEPING))
    return (
        f"CREATE TABLE IF NOT EXISTS {database}.{table}_local (\n    {listed}\n)\n"
        f"ENGINE = ReplacingMergeTree(version) ORDER BY ({', '.join(KEYS[table])})"
    )


def distributed_table_sql(cluster: str, database: str, table: str) -> str:
    return (
        f"CREATE TABLE IF NOT EXISTS {database}.{table} AS {database}.{table}_local "
        f"ENGINE = Distributed({cluster}, {database}, {table}_local, {SHARDING_KEY})"
    )


def create_tables(client: ClusterClient) -> None:
    """Create the database and the tables on every shard where missing (safe to repeat)."""
    client.on_each_shard(f"CREATE DATABASE IF NOT EXISTS {client.database}")
    for table in TABLES:
        client.on_each_shard(local_table_sql(client.database, table))
        client.on_each_shard(distributed_table_sql(client.cluster, client.database, table))


def current(client: ClusterClient, table: str) -> str:
    """A FROM clause of the table's live rows (the newest version of each, not deleted)."""
    names = ", ".join(name for name, _ in COLUMNS[table])
    return f"(SELECT {names} FROM {client.database}.{table} FINAL WHERE deleted = 0)"
