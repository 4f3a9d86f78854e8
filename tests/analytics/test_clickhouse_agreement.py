"""The whole condition language on ClickHouse: for random trees of every leaf kind (fields
with every operator, tags, tag lists, subscription, campaigns, engagement counts, recency,
segment references) under all, any and not at depth, the members ClickHouse selects after a
full load equal those the SQL compiler selects on the system of record, and those the
in-memory evaluator accepts.

Hypothesis draws the day relative dates count from and the zone (the frozen clock: a tree is
read against a given day), members whose values and activity times sit on that day's edges,
and which members two static segments hold (segment references read the loaded published
membership). Each example reloads the tenant, in small batches, so reloads replace.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from segmentd.analytics.full_load import Target
from segmentd.domain.native_form import parse_native
from segmentd.services.static_segments import (
    StaticDraft,
    add_static_members,
    create_static_segment,
    remove_static_members,
)
from segmentd.storage.catalog import load_catalog
from segmentd.storage.db import Database
from tests.analytics.agreement_world import (
    by_clickhouse,
    by_evaluator,
    by_sql,
    every_kind,
    load,
    timed_member_lists,
)
from tests.conftest import Tenant
from tests.support.condition_members import campaign_offset, store_members
from tests.support.condition_strategies import native_trees, worlds
from tests.support.factories import held


def _give(db: Database, tenant: Tenant, segment_id: str, wanted: set[int]) -> None:
    current = set(held(db, segment_id))
    if wanted - current:
        add_static_members(db, tenant.id, segment_id, UTC, member_ids=sorted(wanted - current))
    if current - wanted:
        remove_static_members(db, tenant.id, segment_id, UTC, member_ids=sorted(current - wanted))


def test_clickhouse_agrees_on_random_trees(db: Database, tenant: Tenant, analytics: Target) -> None:
    segment_ids = [
        create_static_segment(db, tenant.id, StaticDraft(name=f"S{n}")).id for n in (1, 2)
    ]
    offset = campaign_offset(tenant)

    @settings(max_examples=40, deadline=None, suppress_health_check=list(HealthCheck))
    @given(data=st.data())
    def agree(data: st.DataObject) -> None:
        world = data.draw(worlds(offset), label="world")
        members = data.draw(timed_member_lists(world, most=10), label="members")
        for segment_id in segment_ids:  # empty them while their members exist
            _give(db, tenant, segment_id, set())
        now = int(datetime(2024, 3, 1, tzinfo=world.tz).timestamp())
        ids = store_members(db, tenant, members, now)
        given_to = {
            segment_id: data.draw(st.sets(st.sampled_from(sorted(ids.values()))), label="held")
            if ids
            else set()
            for segment_id in segment_ids
        }
        for segment_id, wanted in given_to.items():
            _give(db, tenant, segment_id, wanted)
        native: Any = data.draw(native_trees(world, kinds=every_kind(segment_ids)), label="tree")
        with db.read() as conn:
            catalog = load_catalog(conn, tenant.id)
        tree = parse_native(native, catalog, world.tz, today=world.today)
        load(db, analytics, tenant.id)
        contacts = {ids[m.email]: m.contact(offset) for m in members}
        expected = by_evaluator(tree, contacts, given_to)
        assert by_sql(db, tenant.id, tree) == expected, native
        assert by_clickhouse(analytics, tenant.id, tree) == expected, native

    agree()
