"""Incremental syncs on the two-shard cluster (18.16): after a build, a few changed members
are applied row by row (no full load) and the rebuild publishes what the SQL compiler
selects; a sync killed with SIGKILL between writing ClickHouse and deleting its outbox rows,
then a rebuild, gives the same answer."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

from segmentd.jobs.analytics_source import analytics_source
from segmentd.jobs.build_queue import enqueue_build
from segmentd.jobs.build_worker import run_pending
from segmentd.settings import Settings
from segmentd.storage import analytics_outbox as outbox
from segmentd.storage.db import Database
from tests.support.analytics_world import published, sql_selected
from tests.support.clickhouse_cluster import ClickHouseCluster
from tests.support.incremental_world import change_a_few, rebuilt_after_a_few_changes, seed

ROOT = Path(__file__).resolve().parents[2]


def test_a_rebuild_on_the_cluster_applies_only_the_changed_members(
    outboxed: Database, settings: Settings
) -> None:
    rebuilt_after_a_few_changes(outboxed, settings, seed(outboxed))


# Syncs the tenant two outbox rows a batch; in the second batch, once its rows are in
# ClickHouse, it says so and waits (that batch's outbox rows not yet deleted) for SIGKILL.
_KILLED_SYNC = """
import sys
from segmentd.analytics_cluster.shard_client import ClusterClient
from segmentd.database_urls import parse_analytics_url
from segmentd.jobs.analytics_source import analytics_source
from segmentd.storage.db import Database

url, analytics_url, tenant_id = sys.argv[1:]
inserts = 0
real_insert = ClusterClient.insert

def insert(self, table, columns, rows):
    global inserts
    real_insert(self, table, columns, rows)
    inserts += 1
    if inserts == 4:
        print("inserted", flush=True)
        sys.stdin.read()

ClusterClient.insert = insert
source = analytics_source(parse_analytics_url(analytics_url))
source.batch = 2
source.sync(Database(url, analytics_outbox=True), int(tenant_id))
print("finished", flush=True)
"""


def test_a_sync_killed_mid_drain_then_a_rebuild_gives_the_same_answer(
    db_url: str, outboxed: Database, settings: Settings
) -> None:
    db = outboxed
    world = seed(db)
    assert run_pending(db, settings) == 1
    waiting = change_a_few(db, world)
    child = subprocess.Popen(
        [sys.executable, "-c", _KILLED_SYNC, db_url, settings.analytics_url, str(world.tenant_id)],
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
    with db.read() as conn:
        left = len(outbox.seqs_of(conn, world.tenant_id))
    assert 0 < left < waiting  # batches before went through, the killed one stayed
    with db.write() as conn:
        enqueue_build(conn, world.tenant_id, world.segment_id)
    assert run_pending(db, settings) == 1
    source = analytics_source(settings.analytics)
    assert source is not None
    synced = source.last_synced(world.tenant_id)
    assert synced is not None and not synced.full_load and synced.applied.outbox_rows == left
    assert published(db, world.tenant_id, world.segment_id) == sql_selected(
        db, world.tenant_id, world.segment_id
    )


def test_tables_of_the_first_layout_are_replaced_on_every_shard(
    outboxed: Database, settings: Settings, ch_cluster: ClickHouseCluster
) -> None:
    target = settings.analytics
    assert target is not None
    for shard in ch_cluster.shards:  # what the load-id layout left
        client = shard.client()
        client.execute(f"CREATE DATABASE IF NOT EXISTS {target.database}")
        client.execute(
            f"CREATE TABLE {target.database}.members_local (tenant_id UInt64, load_id UInt64, "
            "member_id UInt64) ENGINE = MergeTree ORDER BY (tenant_id, member_id)"
        )
    world = seed(outboxed)
    assert run_pending(outboxed, settings) == 1
    assert published(outboxed, world.tenant_id, world.segment_id) == sql_selected(
        outboxed, world.tenant_id, world.segment_id
    )
