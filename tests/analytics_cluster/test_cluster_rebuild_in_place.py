"""Rebuilds in place on the two-shard cluster (18.16): the difference query across the
shards, only who entered and left written into the published generation, members changed
during the rebuild answered by the system of record; and a shard down during a rebuild,
which writes nothing: the published membership, its history and its count stay."""

from __future__ import annotations

import pytest

from segmentd.domain.statuses import SegmentStatus
from segmentd.jobs.build_worker import run_pending
from segmentd.settings import Settings
from segmentd.storage.db import Database
from tests.support import rebuild_world
from tests.support.analytics_world import named_world, published, sql_selected, write_members
from tests.support.clickhouse_cluster import ClickHouseCluster


def test_entered_and_left_are_applied_exactly_on_the_cluster(
    outboxed: Database, settings: Settings
) -> None:
    rebuild_world.entered_and_left_applied_exactly(outboxed, settings)


def test_members_changed_during_a_rebuild_on_the_cluster(
    outboxed: Database, settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    rebuild_world.changes_during_the_rebuild(outboxed, settings, monkeypatch, drained=False)


def test_a_shard_down_during_a_rebuild_keeps_the_published_membership(
    outboxed: Database, settings: Settings, ch_cluster: ClickHouseCluster
) -> None:
    db = outboxed
    tenant_id, segment_id = named_world(db)
    assert run_pending(db, settings) == 1
    before = rebuild_world.segment_row(db, tenant_id, segment_id)
    members_before = published(db, tenant_id, segment_id)
    history_before = rebuild_world.moved_by_builds(db, tenant_id, segment_id)
    write_members(db, tenant_id, {"m4@example.com": "Bran", "m0@example.com": "Zed"})
    down = ch_cluster.shards[1]
    ch_cluster.stop_shard(down, crash=True)
    try:
        rebuild_world.rebuild(db, settings, tenant_id, segment_id)  # every attempt fails
    finally:
        ch_cluster.start_shard(down)
        ch_cluster.wait_ready(down)
    after = rebuild_world.segment_row(db, tenant_id, segment_id)
    assert after.status == SegmentStatus.FAILED
    assert (after.generation, after.member_total) == (before.generation, before.member_total)
    assert published(db, tenant_id, segment_id) == members_before
    assert rebuild_world.moved_by_builds(db, tenant_id, segment_id) == history_before

    rebuild_world.rebuild(db, settings, tenant_id, segment_id)
    rebuild_world.assert_rebuilt_in_place(db, tenant_id, segment_id, before)
    assert published(db, tenant_id, segment_id) == sql_selected(db, tenant_id, segment_id)
    assert published(db, tenant_id, segment_id) != members_before
