"""Where the analytics copy lives: an engine, a database, and how that ClickHouse holds the
tables (one server, or a cluster of shards, where the DDL and the deletes differ)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from .clickhouse_schema import create_schema
from .engine import Engine


class Layout(Protocol):
    """How a ClickHouse holds the tables: one server (the embedded engine) or a cluster of
    shards (``analytics_cluster.cluster_engine``), where the DDL and the deletes differ."""

    def create(self, engine: Engine, database: str) -> None:
        """Create the database and the tables where missing (safe to repeat)."""
        ...

    def delete_where(self, engine: Engine, database: str, table: str, where: str) -> None:
        """Delete the rows of ``table`` passing ``where`` (numbers and checked ids, never a
        client's text), in the background."""
        ...

    def copy_where(
        self, engine: Engine, database: str, table: str, names: str, select: str, where: str
    ) -> None:
        """Insert into ``table`` (its columns ``names``) the ``select`` of its own rows passing
        ``where`` (numbers and checked ids), on ClickHouse, before returning; each row stays
        where its member's rows are (on a cluster, its shard)."""
        ...


class OneServer:
    def create(self, engine: Engine, database: str) -> None:
        create_schema(engine, database)

    def delete_where(self, engine: Engine, database: str, table: str, where: str) -> None:
        # Lightweight DELETE (23.x and later).
        engine.execute(
            f"DELETE FROM {database}.{table} WHERE {where} SETTINGS lightweight_deletes_sync = 0"
        )

    def copy_where(
        self, engine: Engine, database: str, table: str, names: str, select: str, where: str
    ) -> None:
        qualified = f"{database}.{table}"
        engine.execute(
            f"INSERT INTO {qualified} ({names}) SELECT {select} FROM {qualified} WHERE {where}"
        )


ONE_SERVER = OneServer()


@dataclass(frozen=True)
class Target:
    engine: Engine
    database: str
    layout: Layout = ONE_SERVER
