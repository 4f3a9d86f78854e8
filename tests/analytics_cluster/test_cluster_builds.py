"""Builds and previews on the two-shard cluster (clickhouse-server 18.16), end to end: the
full load onto ``Distributed`` tables, the compiler's SQL run across the shards, the
membership published in the system of record; and a shard down during a build, which fails
and leaves the previous membership published until a build succeeds."""

from __future__ import annotations

from datetime import UTC

import sqlalchemy as sa

from segmentd.domain.statuses import SegmentStatus
from segmentd.jobs.analytics_source import analytics_source
from segmentd.jobs.build_queue import enqueue_build
from segmentd.jobs.build_worker import run_pending
from segmentd.services.segment_service import SegmentDraft, preview_count
from segmentd.settings import Settings
from segmentd.storage import analytics_outbox as outbox
from segmentd.storage.db import Database
from segmentd.storage.schema import segments
from tests.support.analytics_world import (
    name_has,
    named_world,
    published,
    sql_selected,
    write_members,
)
from tests.support.clickhouse_cluster import ClickHouseCluster


def test_a_build_on_the_cluster_publishes_what_the_sql_compiler_selects(
    outboxed: Database, settings: Settings
) -> None:
    db = outboxed
    tenant_id, segment_id = named_world(db)
    assert run_pending(db, settings) == 1
    first = published(db, tenant_id, segment_id)
    assert first and first == sql_selected(db, tenant_id, segment_id)

    write_members(db, tenant_id, {"m4@example.com": "Bran", "m0@example.com": "Zed"})
    with db.write() as conn:
        enqueue_build(conn, tenant_id, segment_id)
    assert run_pending(db, settings) == 1
    after = published(db, tenant_id, segment_id)
    assert after == sql_selected(db, tenant_id, segment_id) and after != first
    with db.read() as conn:
        assert outbox.seqs_of(conn, tenant_id) == []

    source = analytics_source(settings.analytics)
    draft = SegmentDraft(segment_type=0, condition=name_has("a"), list_id=None)
    assert preview_count(db, tenant_id, draft, UTC, source) == preview_count(
        db, tenant_id, draft, UTC
    )


def test_a_shard_down_fails_the_build_and_keeps_the_published_membership(
    outboxed: Database, settings: Settings, ch_cluster: ClickHouseCluster
) -> None:
    db = outboxed
    tenant_id, segment_id = named_world(db)
    assert run_pending(db, settings) == 1
    write_members(db, tenant_id, {"m4@example.com": "Bran"})  # joins in real time
    with db.write() as conn:
        enqueue_build(conn, tenant_id, segment_id)
    before = published(db, tenant_id, segment_id)
    down = ch_cluster.shards[1]
    ch_cluster.stop_shard(down, crash=True)
    try:
        run_pending(db, settings)  # every attempt fails: the build fails
    finally:
        ch_cluster.start_shard(down)
        ch_cluster.wait_ready(down)
    with db.read() as conn:
        status = conn.execute(
            sa.select(segments.c.status).where(segments.c.id == segment_id)
        ).scalar_one()
        assert outbox.seqs_of(conn, tenant_id)  # the change is still to be taken
    assert status == SegmentStatus.FAILED
    assert published(db, tenant_id, segment_id) == before

    with db.write() as conn:
        enqueue_build(conn, tenant_id, segment_id)
    assert run_pending(db, settings) == 1
    assert published(db, tenant_id, segment_id) == sql_selected(db, tenant_id, segment_id)
