"""The outbox, drained into the two-shard cluster, leaves it equal to the system of record:
in one go, batch by batch, and after a drain killed with SIGKILL between writing ClickHouse
and deleting its outbox rows."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import sqlalchemy as sa

from segmentd.analytics_cluster.outbox_drain import drain
from segmentd.storage import analytics_outbox
from segmentd.storage.db import Database
from segmentd.storage.schema import analytics_outbox as outbox_table
from tests.analytics_cluster.cluster_world import cluster_client, fill, in_cluster, of_record
from tests.support.clickhouse_cluster import ClickHouseCluster

ROOT = Path(__file__).resolve().parents[2]


def outbox_size(db: Database) -> int:
    with db.read() as conn:
        return int(conn.execute(sa.select(sa.func.count()).select_from(outbox_table)).scalar_one())


def test_without_the_back_end_nothing_is_recorded(db_url: str) -> None:
    db = Database(db_url)
    try:
        fill(db, 20)
        assert outbox_size(db) == 0
    finally:
        db.dispose()


def test_drain_leaves_the_cluster_equal_to_the_record(
    db_url: str, ch_cluster: ClickHouseCluster
) -> None:
    db = Database(db_url, analytics_outbox=True)
    client = cluster_client(ch_cluster)
    try:
        tenant_id = fill(db, 60)
        assert outbox_size(db) > 0
        drained = drain(db, client, batch=17)
        assert drained > 17 and outbox_size(db) == 0
        expected = of_record(db, tenant_id)
        assert expected["members"] and expected["member_tags"] and expected["campaign_activity"]
        assert in_cluster(client, tenant_id) == expected
        # Draining again (the same changes recorded twice) changes nothing.
        with db.write() as conn:
            ids = [row[0] for row in expected["members"]]
            analytics_outbox.record_members(conn, tenant_id, [*ids, 10**9])
        drain(db, client)
        assert in_cluster(client, tenant_id) == expected
    finally:
        client.close()
        db.dispose()


# Drains 25 rows a batch; in the third batch, once its first rows are in ClickHouse, it says
# so and waits (that batch's outbox rows not yet deleted) for the SIGKILL.
_KILLED_DRAIN = """
import sys
from segmentd.analytics_cluster.outbox_drain import drain
from segmentd.analytics_cluster.shard_client import ClusterClient, ShardAddress
from segmentd.storage.db import Database

url, database, cluster, *ports = sys.argv[1:]
batches = 0
real_insert = ClusterClient.insert

def insert(self, table, columns, rows):
    real_insert(self, table, columns, rows)
    if batches == 2:
        print("inserted", flush=True)
        sys.stdin.read()

def progress(_):
    global batches
    batches += 1

ClusterClient.insert = insert
client = ClusterClient(cluster, [ShardAddress("127.0.0.1", int(p)) for p in ports], database)
drain(Database(url, analytics_outbox=True), client, batch=25, progress=progress)
print("finished", flush=True)
"""


def test_a_drain_killed_mid_batch_resumes_to_the_same_state(
    db_url: str, ch_cluster: ClickHouseCluster
) -> None:
    db = Database(db_url, analytics_outbox=True)
    client = cluster_client(ch_cluster)
    try:
        tenant_id = fill(db, 60)
        before = outbox_size(db)
        ports = [str(s.ports.tcp) for s in ch_cluster.shards]
        child = subprocess.Popen(
            [sys.executable, "-c", _KILLED_DRAIN, db_url, client.database, client.cluster, *ports],
            cwd=ROOT,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            env={**os.environ, "PYTHONPATH": str(ROOT)},
        )
        assert child.stdout is not None
        assert child.stdout.readline() == b"inserted\n"
        child.send_signal(signal.SIGKILL)
        child.wait()
        assert child.returncode == -signal.SIGKILL
        left = outbox_size(db)
        assert left == before - 50  # two batches went through, the killed one stayed
        drain(db, client, batch=25)
        assert outbox_size(db) == 0
        assert in_cluster(client, tenant_id) == of_record(db, tenant_id)
    finally:
        client.close()
        db.dispose()
