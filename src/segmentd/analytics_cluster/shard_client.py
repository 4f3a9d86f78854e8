"""The shards of one ClickHouse cluster, reached over the native protocol (clickhouse-driver).

DDL runs on each shard in turn (``ON CLUSTER`` needs ZooKeeper, which a plain two-server
setup has not); reads and writes go through any shard's ``Distributed`` tables.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from clickhouse_driver import Client

# Inserts through a Distributed table reach the shards before they return: a drained outbox
# row is then in ClickHouse, not in a local queue of the server that took the insert.
_INSERT_SETTINGS = {"insert_distributed_sync": 1}


@dataclass(frozen=True)
class ShardAddress:
    host: str
    port: int  # the native protocol's (tcp_port)


class ClusterClient:
    def __init__(
        self, cluster: str, shards: Sequence[ShardAddress], database: str = "segmentd"
    ) -> None:
        self.cluster = cluster
        self.database = database
        self._clients = [Client(s.host, port=s.port) for s in shards]

    @property
    def shard_count(self) -> int:
        return len(self._clients)

    def on_each_shard(self, sql: str) -> None:
        for client in self._clients:
            client.execute(sql)

    def shard_rows(
        self, shard: int, sql: str, params: Mapping[str, Any] | None = None
    ) -> list[Any]:
        """Rows of one shard's own tables (its ``_local`` ones)."""
        return list(self._clients[shard].execute(sql, dict(params or {})))

    def rows(self, sql: str, params: Mapping[str, Any] | None = None, **settings: Any) -> list[Any]:
        """Rows of a query on the first shard (over ``Distributed`` tables: all shards)."""
        return list(self._clients[0].execute(sql, dict(params or {}), settings=settings))

    def insert(self, table: str, columns: Sequence[str], rows: Sequence[Sequence[Any]]) -> None:
        if rows:
            self._clients[0].execute(
                f"INSERT INTO {table} ({', '.join(columns)}) VALUES",
                [tuple(row) for row in rows],
                settings=_INSERT_SETTINGS,
            )

    def insert_columns(
        self, table: str, names: Sequence[str], columns: Sequence[Sequence[Any]]
    ) -> None:
        """Insert rows given column by column (``columns[i]``: the values of ``names[i]``)."""
        if columns and columns[0]:
            self._clients[0].execute(
                f"INSERT INTO {table} ({', '.join(names)}) VALUES",
                columns,
                settings=_INSERT_SETTINGS,
                columnar=True,
            )

    def close(self) -> None:
        for client in self._clients:
            client.disconnect()
