"""A shard down: the drain fails and keeps the outbox (the copy says how far behind it is),
then catches up once the shard is back."""

from __future__ import annotations

import pytest
from clickhouse_driver.errors import Error as ClickHouseError

from segmentd.analytics_cluster.outbox_drain import drain
from segmentd.storage import analytics_outbox
from segmentd.storage.db import Database
from segmentd.timefmt import now
from tests.analytics_cluster.cluster_world import cluster_client, fill, in_cluster, of_record
from tests.support.clickhouse_cluster import ClickHouseCluster


def test_the_drain_waits_for_a_shard_that_is_down(
    db_url: str, ch_cluster: ClickHouseCluster
) -> None:
    db = Database(db_url, analytics_outbox=True)
    client = cluster_client(ch_cluster)
    down = ch_cluster.shards[1]
    try:
        before = now()
        tenant_id = fill(db, 30)
        with db.read() as conn:
            behind = analytics_outbox.backlog(conn)
        assert behind.rows > 0 and behind.oldest_at is not None
        assert behind.fresh_as_of(now()) >= before
        ch_cluster.stop_shard(down, crash=True)
        with pytest.raises(ClickHouseError):
            drain(db, client, batch=1000)
        with pytest.raises(ClickHouseError):  # a read never answers from one shard alone
            client.rows(f"SELECT count() FROM {client.database}.members")
        with db.read() as conn:
            assert analytics_outbox.backlog(conn) == behind  # nothing taken as drained
        ch_cluster.start_shard(down)
        ch_cluster.wait_ready(down)
        drain(db, client)
        with db.read() as conn:
            caught_up = analytics_outbox.backlog(conn)
        assert caught_up.rows == 0 and caught_up.fresh_as_of(12345) == 12345
        assert in_cluster(client, tenant_id) == of_record(db, tenant_id)
    finally:
        if down.process is None:  # the servers outlive this test: bring it back for the next
            ch_cluster.start_shard(down)
            ch_cluster.wait_ready(down)
        client.close()
        db.dispose()
