"""The sharded tables: a member's rows (member, tags, activity) sit on one shard, and an
event count grouped by member runs on each shard alone with the answer of one node."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator

import pytest
import sqlalchemy as sa

from segmentd.analytics_cluster.outbox_drain import drain
from segmentd.analytics_cluster.shard_client import ClusterClient
from segmentd.analytics_cluster.sharded_tables import TABLES
from segmentd.storage.db import Database
from segmentd.storage.schema import campaign_activity
from tests.analytics_cluster.cluster_world import cluster_client, fill
from tests.support.clickhouse_cluster import ClickHouseCluster


@pytest.fixture
def filled(
    ch_cluster: ClickHouseCluster, db_url: str
) -> Iterator[tuple[Database, ClusterClient, int]]:
    db = Database(db_url, analytics_outbox=True)
    client = cluster_client(ch_cluster)
    try:
        tenant_id = fill(db, 80)
        drain(db, client)
        yield db, client, tenant_id
    finally:
        client.close()
        db.dispose()


def test_a_members_rows_share_one_shard(filled: tuple[Database, ClusterClient, int]) -> None:
    _, client, tenant_id = filled
    on_shard = [
        {
            int(m)
            for table in TABLES
            for (m,) in client.shard_rows(
                shard,
                f"SELECT DISTINCT member_id FROM {client.database}.{table}_local "
                "WHERE tenant_id = %(t)s",
                {"t": tenant_id},
            )
        }
        for shard in range(client.shard_count)
    ]
    assert all(on_shard)  # both shards hold members
    assert not on_shard[0] & on_shard[1]  # no member on two shards


# Opens per member, by a query that each shard answers for its own members.
_OPENS = (
    "SELECT member_id, count() FROM {db}.campaign_activity FINAL "
    "WHERE tenant_id = %(t)s AND deleted = 0 AND opened_at IS NOT NULL GROUP BY member_id"
)


def test_an_event_count_by_member_runs_shard_locally(
    filled: tuple[Database, ClusterClient, int],
) -> None:
    db, client, tenant_id = filled
    sql = _OPENS.format(db=client.database)
    # Without the merge step on the initiator, each shard's groups come back as they are:
    # right only because no member's rows span two shards.
    local = client.rows(sql, {"t": tenant_id}, distributed_group_by_no_merge=1)
    merged = client.rows(sql, {"t": tenant_id})
    a = campaign_activity.c
    with db.read() as conn:
        one_node = conn.execute(
            sa.select(a.member_id, sa.func.count())
            .where(a.tenant_id == tenant_id, a.opened_at.is_not(None))
            .group_by(a.member_id)
        ).all()
    expected = Counter({int(m): int(n) for m, n in one_node})
    assert expected and max(expected.values()) == 2  # members opened both campaigns
    assert Counter({int(m): int(n) for m, n in local}) == expected
    assert len(local) == len(expected)  # no member's group came from two shards
    assert Counter({int(m): int(n) for m, n in merged}) == expected
