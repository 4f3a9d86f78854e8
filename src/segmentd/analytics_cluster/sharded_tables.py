"""The analytics tables on a cluster, as the outbox drain and its tests name them: the one
table set of ``analytics.clickhouse_schema`` (on each shard a ``<table>_local``, over them a
``Distributed`` ``<table>`` sharded by ``cityHash64(tenant_id, member_id)``), created by
``cluster_engine``. The member tables are ``ReplacingMergeTree(version)`` with ``deleted``
tombstones; reads take ``FINAL ... WHERE deleted = 0``.
"""

from __future__ import annotations

from ..analytics.clickhouse_schema import (
    CAMPAIGN_ACTIVITY,
    DATA_COLUMNS,
    KEYS,
    MEMBER_TAGS,
    MEMBERS,
    VERSIONED,
    columns,
)
from .cluster_engine import ClusterEngine
from .shard_client import ClusterClient

TABLES = VERSIONED
COLUMNS = {table: DATA_COLUMNS[table] for table in VERSIONED}  # without the bookkeeping

__all__ = ["CAMPAIGN_ACTIVITY", "COLUMNS", "KEYS", "MEMBERS", "MEMBER_TAGS", "TABLES", "columns"]


def create_tables(client: ClusterClient) -> None:
    """Create the database and the tables on every shard where missing (safe to repeat)."""
    engine = ClusterEngine(client)
    engine.create(engine, client.database)


def current(client: ClusterClient, table: str) -> str:
    """A FROM clause of the table's live rows (the newest version of each, not deleted)."""
    names = ", ".join(name for name, _ in COLUMNS[table])
    return f"(SELECT {names} FROM {client.database}.{table} FINAL WHERE deleted = 0)"
