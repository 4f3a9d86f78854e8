"""The cluster fixture: two servers that see each other as the shards of one cluster."""

from __future__ import annotations

from tests.support.clickhouse_cluster import CLUSTER, ClickHouseCluster


def test_both_shards_answer_as_one_cluster(ch_cluster: ClickHouseCluster) -> None:
    rows = ch_cluster.client().execute(
        "SELECT shard_num, port FROM system.clusters WHERE cluster = %(c)s ORDER BY shard_num",
        {"c": CLUSTER},
    )
    assert rows == [(1, ch_cluster.shards[0].ports.tcp), (2, ch_cluster.shards[1].ports.tcp)]
    # A query through the cluster reaches both servers (each names its shard in a macro).
    shards = ch_cluster.client().execute(
        f"SELECT substitution FROM cluster('{CLUSTER}', system, macros) "
        "WHERE macro = 'shard' ORDER BY 1"
    )
    assert shards == [("1",), ("2",)]
