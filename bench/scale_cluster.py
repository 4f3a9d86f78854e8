"""The two local ``clickhouse-server`` shards of the scale benchmark: the tests' topology
(``tests.support.clickhouse_cluster``) on a folder of its own under ``bench/data/``, kept
between runs with ``--keep`` (the servers stop with the process; their data stays and the
next run starts them on it), with a query memory limit for tens of millions of members
instead of the tests' 1 GB.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from clickhouse_driver import Client
from tests.support.clickhouse_cluster import ClickHouseCluster, ShardServer, server_binary

from .scale_copy import DATABASE

__all__ = ["ScaleCluster", "server_binary"]

# The tests' users.xml with 6 GB a query (two servers on a 23 GB machine) and the same
# small read buffers (FINAL over the wide members table opens every column).
_USERS_XML = """<?xml version="1.0"?>
<yandex>
  <profiles><default>
    <max_memory_usage>6000000000</max_memory_usage>
    <max_read_buffer_size>131072</max_read_buffer_size>
  </default></profiles>
  <users><default>
    <password></password>
    <networks><ip>127.0.0.1</ip><ip>::1</ip></networks>
    <profile>default</profile><quota>default</quota>
  </default></users>
  <quotas><default><interval>
    <duration>3600</duration><queries>0</queries><errors>0</errors>
    <result_rows>0</result_rows><read_rows>0</read_rows><execution_time>0</execution_time>
  </interval></default></quotas>
</yandex>
"""


class ScaleCluster(ClickHouseCluster):
    def _write_config(self, shard: ShardServer, remote: str) -> None:
        super()._write_config(shard, remote)
        (shard.root / "users.xml").write_text(_USERS_XML)

    @property
    def url(self) -> str:
        return f"clickhouse://127.0.0.1:{self.shards[0].ports.tcp}/{DATABASE}"

    def executes(self) -> list[Callable[[str], object]]:
        """A way to run SQL on each shard, in the cluster's order (a client each)."""
        # Merging tens of millions of rows outlasts the driver's default timeout.
        clients = [
            Client("127.0.0.1", port=s.ports.tcp, send_receive_timeout=3600) for s in self.shards
        ]
        return [client.execute for client in clients]

    def server_peak_rss_mb(self) -> list[float]:
        """Each server's high-water resident set size (VmHWM) since it started, in MiB."""
        found = []
        for shard in self.shards:
            assert shard.process is not None
            status = Path(f"/proc/{shard.process.pid}/status").read_text()
            line = next(x for x in status.splitlines() if x.startswith("VmHWM:"))
            found.append(int(line.split()[1]) / 1024)
        return found


def check_routing(cluster: ScaleCluster) -> None:
    """The Distributed tables route a member to the shard ``scale_copy.shard_places`` writes
    it to: checked on a probe table with the same sharding key (the membership copies of
    referenced segments go through the Distributed table, and must sit with their member)."""
    first = cluster.client(0)
    for shard in range(len(cluster.shards)):
        cluster.client(shard).execute(
            f"CREATE TABLE IF NOT EXISTS {DATABASE}.routing_probe_local "
            "(tenant_id UInt64, member_id UInt64) ENGINE = Memory"
        )
    first.execute(
        f"CREATE TABLE IF NOT EXISTS {DATABASE}.routing_probe AS {DATABASE}.routing_probe_local "
        f"ENGINE = Distributed(segmentd, {DATABASE}, routing_probe_local, "
        "cityHash64(tenant_id, member_id))"
    )
    first.execute(
        f"INSERT INTO {DATABASE}.routing_probe VALUES",
        [(1, m) for m in range(1, 101)],
        settings={"insert_distributed_sync": 1},
    )
    count = len(cluster.shards)
    for shard in range(count):
        (wrong,) = cluster.client(shard).execute(
            f"SELECT count() FROM {DATABASE}.routing_probe_local "
            f"WHERE cityHash64(tenant_id, member_id) % {count} != {shard}"
        )[0]
        assert wrong == 0, f"shard {shard} holds {wrong} members routed elsewhere"
    first.execute(f"DROP TABLE {DATABASE}.routing_probe")
    for shard in range(count):
        cluster.client(shard).execute(f"DROP TABLE {DATABASE}.routing_probe_local")
