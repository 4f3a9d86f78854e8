"""The analytics tables on a cluster: on each shard a local ``ReplacingMergeTree``
(``<table>_local``), and over them a ``Distributed`` table (``<table>``) that shards rows by
``cityHash64(tenant_id, member_id)``: a member's row, tags and activity share a shard, so
conditions on them and GROUP BY member run shard-locally.

Each row carries ``version`` (the newest wins when parts merge, and in ``FINAL`` reads) and
``deleted`` (a tombstone: the outbox drain writes one for a row gone from the system of
record). Reads take ``FINAL ... WHERE deleted = 0``. Production uses ``ReplicatedMergeTree``
with the same keys (docs/analytics-cluster.md). The columns are those of the system of record
(``storage.schema``), in its names: ``analytics.clickhouse_schema``'s, less the load id.
"""

from __future__ import annotations

from ..analytics.clickhouse_schema import (
    CAMPAIGN_ACTIVITY,
    MEMBER_TAGS,
    MEMBERS,
    SHARDING_KEY,
    column_types,
)
from .shard_client import ClusterClient

TABLES = (MEMBERS, MEMBER_TAGS, CAMPAIGN_ACTIVITY)
_BOOKKEEPING = (("version", "UInt64"), ("deleted", "UInt8"))

# The columns of ``analytics.clickhouse_schema`` (the one list), less its ``load_id``: the
# outbox keeps these tables current row by row, with versions instead of loads.
COLUMNS: dict[str, tuple[tuple[str, str], ...]] = {
    table: tuple((name, kind) for name, kind in column_types(table) if name != "load_id")
    for table in TABLES
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
