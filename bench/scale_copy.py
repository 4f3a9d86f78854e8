"""The ClickHouse copy of the scale data set, written set-based (``INSERT ... SELECT FROM
numbers(...)``) on each place that holds rows: the embedded engine's tables, or each shard's
``<table>_local`` with the rows the ``Distributed`` tables would route there
(``cityHash64(tenant_id, member_id)`` modulo the shards: a member's row, tags and activity on
one shard). Then each table is merged (``OPTIMIZE ... FINAL``, as after a full load) and the
copy recorded in ``tenant_loads`` as a full load at one version, so builds read it without
loading the tenant again.

- members: the field values of the system of record (``bench.scale_values``);
- member_tags: 0 to 5 of the 40 tags per member (2.5 on average);
- campaign_activity: ``events`` rows, one per member and campaign (``events / members`` per
  member, at most the 50 campaigns), sent in the 180 days before the data set's clock, half
  of them opened an hour later, a third of the opens clicked a minute after: about 0.8 opens
  per member in the last 30 days, so "opened at least 3 campaigns in 30 days" holds for
  about 5 % of the members, as on the 1M data set (5.9 %). A row is up to three events
  (sent, open, click): 100M rows are about 167M events.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

from segmentd.analytics.clickhouse_schema import (
    CAMPAIGN_ACTIVITY,
    MEMBER_TAGS,
    MEMBERS,
    TENANT_LOADS,
)
from segmentd.analytics.engine import Engine
from segmentd.analytics.versions import next_version

from .dataset import DAY, NOW
from .scale_record import Record
from .scale_values import clickhouse, field_values, system_values

DATABASE = "segmentd"
WINDOW_DAYS = 180
# Wide rows (two columns per custom slot, mostly NULL) in small blocks: a block of the
# default million rows holds every NULL slot too, over a gigabyte.
_MEMBER_BLOCK = 65_536


@dataclass(frozen=True)
class Place:
    """Where rows are written: a way to run SQL, the tables' suffix, and which members'
    rows belong there (an SQL test of ``member_id``; "1": all)."""

    execute: Callable[[str], object]
    suffix: str = ""
    holds: str = "1"


def shard_places(executes: Sequence[Callable[[str], object]]) -> list[Place]:
    """The shards in the cluster's order: shard k holds the members whose sharding key is k
    modulo the shard count (the Distributed table's routing with equal weights)."""
    count = len(executes)
    return [
        Place(run, "_local", f"cityHash64(tenant_id, member_id) % {count} = {k}")
        for k, run in enumerate(executes)
    ]


def fill_statements(record: Record, events: int, version: int) -> dict[str, str]:
    """{table: INSERT ... SELECT}; ``{suffix}`` and ``{holds}`` are the place's."""
    dataset = record.dataset
    tenant, count = dataset.tenant_id, dataset.members
    d = clickhouse("member_id")
    members_values = {
        **system_values(d),
        **{record.slots[name]: value for name, value in field_values(d).items()},
    }
    email = "'m' || toString(member_id) || '@d' || toString(member_id % 500) || '.example'"
    bookkeeping = f"toUInt64({version}) AS version, toUInt8(0) AS deleted"
    source = f"SELECT toUInt64({tenant}) AS tenant_id, number % {count} + 1 AS member_id"
    members_sql = (
        f"INSERT INTO {DATABASE}.{MEMBERS}{{suffix}} (tenant_id, list_id, member_id, email_key, "
        f"domain, name, {', '.join(members_values)}, version, deleted) "
        f"SELECT tenant_id, {dataset.list_id}, member_id, {email}, "
        f"'d' || toString(member_id % 500) || '.example', 'Member ' || toString(member_id), "
        f"{', '.join(members_values.values())}, {bookkeeping} "
        f"FROM ({source} FROM numbers({count})) WHERE {{holds}} "
        f"SETTINGS max_block_size = {_MEMBER_BLOCK}, max_insert_block_size = {_MEMBER_BLOCK}"
    )
    tags = list(record.tag_ids)
    tags_sql = (
        f"INSERT INTO {DATABASE}.{MEMBER_TAGS}{{suffix}} "
        f"SELECT tenant_id, member_id, "
        f"{tags}[(cityHash64(member_id, 1) + j * 3) % {len(tags)} + 1], {bookkeeping} "
        f"FROM ({source}, intDiv(number, {count}) AS j FROM numbers({count * 5})) "
        f"WHERE j < cityHash64(member_id, 2) % 6 AND {{holds}}"
    )
    campaigns = list(dataset.campaign_ids)
    assert events <= count * len(campaigns), "at most one row per member and campaign"
    sent = f"toInt64({NOW}) - toInt64(cityHash64(member_id, j, 3) % {WINDOW_DAYS * DAY})"
    opened = "cityHash64(member_id, j, 4) % 2 = 0"
    activity_sql = (
        f"INSERT INTO {DATABASE}.{CAMPAIGN_ACTIVITY}{{suffix}} "
        f"SELECT tenant_id, member_id, "
        f"{campaigns}[(cityHash64(member_id, 5) + j * 7) % {len(campaigns)} + 1], "
        f"{sent} AS sent, if({opened}, sent + 3600, NULL), "
        f"if({opened} AND cityHash64(member_id, j, 6) % 3 = 0, sent + 3660, NULL), "
        f"{bookkeeping} "
        f"FROM ({source}, intDiv(number, {count}) AS j FROM numbers({events})) WHERE {{holds}}"
    )
    return {MEMBERS: members_sql, MEMBER_TAGS: tags_sql, CAMPAIGN_ACTIVITY: activity_sql}


def fill(engine: Engine, places: Sequence[Place], record: Record, events: int) -> dict[str, float]:
    """Write the copy at every place at once (a thread each), merge it, record the load;
    seconds per step."""
    tenant = record.dataset.tenant_id
    version = next_version(engine, DATABASE, tenant)
    seconds: dict[str, float] = {}
    with ThreadPoolExecutor(len(places)) as pool:
        for table, sql in fill_statements(record, events, version).items():
            started = time.perf_counter()
            done = [
                pool.submit(place.execute, sql.format(suffix=place.suffix, holds=place.holds))
                for place in places
            ]
            for future in done:
                future.result()
            seconds[f"write {table}"] = time.perf_counter() - started
        started = time.perf_counter()
        for future in [pool.submit(_merge, place) for place in places]:
            future.result()
        seconds["merge"] = time.perf_counter() - started
    engine.insert(
        f"{DATABASE}.{TENANT_LOADS}",
        ["tenant_id", "load_id", "finished_at", "members"],
        [[tenant], [version], [int(time.time())], [record.dataset.members]],
    )
    return seconds


def _merge(place: Place) -> None:
    """One place's tables in turn: a place's connection runs one statement at a time."""
    for table in (MEMBERS, MEMBER_TAGS, CAMPAIGN_ACTIVITY):
        place.execute(f"OPTIMIZE TABLE {DATABASE}.{table}{place.suffix} FINAL")
