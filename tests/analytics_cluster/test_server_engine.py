"""The engine's three methods on a real 18.16 server: ``{name:Type}`` statements bound by the
client, dict rows inserted through a ``Distributed`` table, literal ``%`` left alone."""

from __future__ import annotations

import uuid

from segmentd.analytics_cluster.server_engine import ServerEngine, bind_placeholders
from tests.support.clickhouse_cluster import CLUSTER, ClickHouseCluster


def test_placeholders_become_casts_and_percent_signs_survive() -> None:
    sql = "SELECT 1 WHERE name LIKE 'a%' AND id = {id:UInt64} AND t IN {ts:Array(String)}"
    assert bind_placeholders(sql) == (
        "SELECT 1 WHERE name LIKE 'a%%' AND id = CAST(%(id)s AS UInt64) "
        "AND t IN CAST(%(ts)s AS Array(String))"
    )


def test_statements_of_the_embedded_engine_run_on_the_cluster(
    ch_cluster: ClickHouseCluster,
) -> None:
    database = f"e_{uuid.uuid4().hex[:12]}"
    for shard in ch_cluster.shards:
        engine = ServerEngine("127.0.0.1", shard.ports.tcp)
        engine.execute(f"CREATE DATABASE {database}")
        engine.execute(
            f"CREATE TABLE {database}.people_local (tenant_id UInt64, member_id UInt64, "
            "name Nullable(String)) ENGINE = MergeTree ORDER BY (tenant_id, member_id)"
        )
        engine.execute(
            f"CREATE TABLE {database}.people AS {database}.people_local ENGINE = "
            f"Distributed({CLUSTER}, {database}, people_local, cityHash64(tenant_id, member_id))"
        )
        engine.close()
    engine = ServerEngine("127.0.0.1", ch_cluster.shards[0].ports.tcp)
    try:
        engine.insert(
            f"{database}.people",
            [
                {"tenant_id": 1, "member_id": m, "name": None if m == 3 else f"a{m}%"}
                for m in range(8)
            ],
        )
        found = engine.rows(
            f"SELECT member_id, name FROM {database}.people WHERE tenant_id = {{t:UInt64}} "
            "AND name LIKE 'a%' AND has({ids:Array(UInt64)}, member_id) ORDER BY member_id",
            {"t": 1, "ids": [1, 3, 5, 9]},
        )
        assert found == [[1, "a1%"], [5, "a5%"]]
        quoted = engine.rows("SELECT {s:String}", {"s": "it's {x:UInt8} %s"})
        assert quoted == [["it's {x:UInt8} %s"]]
    finally:
        engine.close()
