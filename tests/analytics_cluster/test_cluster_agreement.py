"""The compiler's SQL on the two 18.16 shards: random trees of every leaf kind over a seeded
tenant loaded onto the ``Distributed`` tables select the members the SQL compiler and the
evaluator select (the same comparison as ``tests/analytics/test_clickhouse_bulk.py`` on
chdb, fewer trees)."""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import pytest

from segmentd.analytics.full_load import Target
from segmentd.analytics_cluster.cluster_engine import CLUSTER, ClusterEngine
from segmentd.analytics_cluster.shard_client import ClusterClient, ShardAddress
from segmentd.storage.db import Database
from tests.analytics.bulk_world import build_world
from tests.analytics.test_clickhouse_bulk import TODAY, TZ, _agree
from tests.conftest import Tenant
from tests.support.clickhouse_cluster import ClickHouseCluster
from tests.support.condition_members import campaign_offset
from tests.support.condition_strategies import World


@pytest.fixture
def on_cluster(ch_cluster: ClickHouseCluster) -> Iterator[Target]:
    shards = [ShardAddress("127.0.0.1", s.ports.tcp) for s in ch_cluster.shards]
    database = f"a_{uuid.uuid4().hex[:12]}"
    engine = ClusterEngine(ClusterClient(CLUSTER, shards, database))
    yield Target(engine, database, engine)
    engine.client.on_each_shard(f"DROP DATABASE IF EXISTS {database}")
    engine.close()


# The system of record's side on SQLite only, as the bulk test on chdb.
@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
def test_the_cluster_selects_what_the_sql_compiler_selects(
    db: Database, db_url: str, tenant: Tenant, on_cluster: Target
) -> None:
    world = World(TODAY, TZ, campaign_offset(tenant))
    bulk = build_world(db, db_url, tenant, world, size=300, activity_share=0.6)
    _agree(db, tenant, on_cluster, bulk, examples=60, chunks=3)
