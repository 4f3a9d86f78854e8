"""The analytics copy on a ClickHouse cluster of shards (docs/analytics-cluster.md).

``shard_client`` reaches the shards (clickhouse-driver, the native protocol: servers from
18.16 on), ``sharded_tables`` creates each shard's local tables and the ``Distributed``
tables over them, ``outbox_drain`` keeps them current from the system of record's outbox,
and ``server_engine`` answers the analytics engine's methods on a server. It may import
storage and the domain, nothing above.
"""
