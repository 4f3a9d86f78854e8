"""The analytics tables of ``analytics.clickhouse_schema`` on a cluster, for the full load,
the outbox drain, builds and previews: on each shard a ``<table>_local`` (the same columns,
keys and engines), and over them a ``Distributed`` ``<table>`` sharded by
``cityHash64(tenant_id, member_id)`` (the load and copy records by tenant), so the
compiler's SQL names the same tables as on the embedded engine.

``ClusterEngine`` answers the engine's methods (``analytics.engine.Engine``) and the
layout's (``full_load.Layout``) over ``clickhouse-driver``: ``{name:Type}`` placeholders
bound by the client (18.16 has no query parameters), reads with
``distributed_product_mode = 'local'`` (a condition's ``IN (SELECT ... FROM <table>)`` then
reads each shard's own rows: a member's rows share its shard), deletes as ``ALTER TABLE ...
DELETE`` on each shard's local table (18.16 has no lightweight ``DELETE``).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from ..analytics.clickhouse_schema import (
    FORMER_TABLES,
    SHARDED_BY,
    TABLES,
    create_table_sql,
    former_layout_sql,
)
from ..analytics.engine import AnalyticsUnavailable, Column, Constant, Engine
from ..database_urls import AnalyticsTarget
from .server_engine import bind_placeholders
from .shard_client import ClusterClient, ShardAddress

CLUSTER = "segmentd"  # the cluster's name in the servers' remote_servers
_READ_SETTINGS = {"distributed_product_mode": "local"}


class ClusterEngine:
    def __init__(self, client: ClusterClient) -> None:
        self.client = client

    def execute(self, sql: str, params: Mapping[str, Any] | None = None) -> None:
        self.client.rows(bind_placeholders(sql), params, **_READ_SETTINGS)

    def rows(self, sql: str, params: Mapping[str, Any] | None = None) -> list[list[Any]]:
        found = self.client.rows(bind_placeholders(sql), params, **_READ_SETTINGS)
        return [list(row) for row in found]

    def insert(self, table: str, names: Sequence[str], columns: Sequence[Sequence[Any]]) -> None:
        if columns and columns[0]:
            self.client.insert(table, names, list(zip(*columns, strict=True)))

    def insert_columns(
        self, table: str, columns: Sequence[Column], constants: Mapping[str, Constant]
    ) -> None:
        """Column by column to the driver (no rows built), the constants repeated."""
        if not columns or not columns[0][2]:
            return
        rows = len(columns[0][2])
        names = [name for name, _, _ in columns] + list(constants)
        values = [values for _, _, values in columns]
        values += [[value] * rows for value in constants.values()]
        self.client.insert_columns(table, names, values)

    def close(self) -> None:
        self.client.close()

    # --- the layout (full_load.Layout) --------------------------------------------------

    def create(self, engine: Engine, database: str) -> None:
        self.client.on_each_shard(f"CREATE DATABASE IF NOT EXISTS {database}")
        self._drop_former_layout(database)
        for table in TABLES:
            key = SHARDED_BY[table]
            self.client.on_each_shard(create_table_sql(database, table, "_local"))
            self.client.on_each_shard(
                f"CREATE TABLE IF NOT EXISTS {database}.{table} AS {database}.{table}_local "
                f"ENGINE = Distributed({self.client.cluster}, {database}, {table}_local, {key})"
            )

    def _drop_former_layout(self, database: str) -> None:
        """Tables of the first layout (by load id) are dropped on every shard (a copy)."""
        check = bind_placeholders(former_layout_sql(database, "_local"))
        for shard in range(self.client.shard_count):
            if int(self.client.shard_rows(shard, check, {"d": database})[0][0]):
                for table in FORMER_TABLES:
                    self.client.on_each_shard(f"DROP TABLE IF EXISTS {database}.{table}")
                    self.client.on_each_shard(f"DROP TABLE IF EXISTS {database}.{table}_local")
                return

    def delete_where(self, engine: Engine, database: str, table: str, where: str) -> None:
        self.client.on_each_shard(f"ALTER TABLE {database}.{table}_local DELETE WHERE {where}")

    def copy_where(
        self, engine: Engine, database: str, table: str, names: str, select: str, where: str
    ) -> None:
        # Shard by shard on the local tables: a member's rows stay on its shard, and the
        # insert is done when this returns (a Distributed insert may be queued).
        local = f"{database}.{table}_local"
        self.client.on_each_shard(
            f"INSERT INTO {local} ({names}) SELECT {select} FROM {local} WHERE {where}"
        )


def open_cluster(target: AnalyticsTarget) -> ClusterEngine:
    """The cluster ``segmentd`` as the server at ``target`` knows it (``system.clusters``)."""
    first = ClusterClient(CLUSTER, [ShardAddress(target.host, target.port)], target.database)
    try:
        shards = first.rows(
            "SELECT host_address, port FROM system.clusters WHERE cluster = %(c)s "
            "ORDER BY shard_num, replica_num LIMIT 1 BY shard_num",
            {"c": CLUSTER},
        )
    finally:
        first.close()
    if not shards:
        raise AnalyticsUnavailable(
            f"the server at {target.host}:{target.port} defines no cluster {CLUSTER!r}"
        )
    addresses = [ShardAddress(str(host), int(port)) for host, port in shards]
    return ClusterEngine(ClusterClient(CLUSTER, addresses, target.database))
