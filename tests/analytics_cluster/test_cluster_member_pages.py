"""Filtered member pages on the two-shard cluster (clickhouse-server 18.16): the page's ids
in id order with its offset and limit, and the total, read across the shards, equal the
system of record's, rows and all."""

from __future__ import annotations

from datetime import UTC

from segmentd.jobs.analytics_source import analytics_source
from segmentd.jobs.build_worker import run_pending
from segmentd.services.filtered_members import members_page
from segmentd.settings import Settings
from segmentd.storage.db import Database
from segmentd.storage.tenants import create_tenant
from tests.support.analytics_world import add_segment, name_has, write_members

NAMES = ("Ann", "Dan", "Lea", "Jan", "Bob", "Anna", "Ivan", "Eve", "Hana", "Otto")


def test_filtered_pages_on_the_cluster_equal_the_system_of_record(
    outboxed: Database, settings: Settings
) -> None:
    db = outboxed
    with db.write() as conn:
        tenant_id = create_tenant(conn, "acme")
    names = {f"m{i:02}@example.com": NAMES[i % len(NAMES)] for i in range(40)}
    write_members(db, tenant_id, names)
    segment_id = add_segment(db, tenant_id, "a", name_has("a"))
    assert run_pending(db, settings) == 1
    source = analytics_source(settings.analytics)
    assert source is not None
    totals = set()
    for text in ("n", "ann", "Lea", "zzz"):
        for page in ((0, 10), (3, 7), (0, 100), (25, 10), (1000, 10)):
            args = (db, tenant_id, segment_id, name_has(text), UTC, page)
            on_sql = members_page(*args)
            assert members_page(*args, analytics=source) == on_sql
            totals.add(on_sql.total)
    assert len(totals) == 4  # each filter selects a different number
    assert source.last_synced(tenant_id) is not None
