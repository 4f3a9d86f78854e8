"""Real-time membership of engagement and recency segments: after any sequence of campaign
events (at times from today back to months ago), member changes and build steps, each
segment holds what a full rebuild selects (by the compiled SQL)."""

from __future__ import annotations

import time
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from segmentd.domain.fields import CampaignStatus
from segmentd.domain.native_form import parse_native
from segmentd.domain.stored_form import dump_condition
from segmentd.services.member_service import delete_members, record_events, upsert_members
from segmentd.services.segment_service import insert_segment
from segmentd.storage.campaigns import create_campaign
from segmentd.storage.catalog import load_catalog
from segmentd.storage.db import Database
from segmentd.storage.members import TagFlag
from segmentd.storage.tenants import create_tenant, default_list_id
from tests.membership.test_realtime import (
    FORMS,
    TZ,
    World,
    build_step,
    check,
    finish_builds,
    member_ids,
)
from tests.support.factories import add_list

EMAILS = [f"m{i}@example.com" for i in range(8)]
WEEK = {"amount": 7, "unit": "days"}


def engagement(activity: str, op: str, count: int, within: Any = None) -> dict[str, Any]:
    return {
        "kind": "engagement", "activity": activity, "count_op": op, "count": count,
        "within": within,
    }  # fmt: skip


def recency(activity: str, op: str, window: dict[str, Any] | None = None) -> dict[str, Any]:
    return {"kind": "last_activity", "activity": activity, "op": op, **(window or {})}


CONDITIONS = [
    engagement("open", ">=", 2, WEEK),
    {"all": [engagement("sent", ">=", 2, WEEK), engagement("open", "==", 0, WEEK)]},
    engagement("click", "==", 0),
    recency("engaged", "more_than_ago", WEEK),
    {"any": [{"not": recency("open", "in_last", WEEK)}, recency("sent", "never")]},
]


def make_world(db: Database, form: str) -> tuple[World, list[int]]:
    """A tenant with two campaigns and the engagement segments on two lists."""
    with db.write() as conn:
        tenant_id = create_tenant(conn, "engaged")
        lists = [default_list_id(conn, tenant_id)]
        campaigns = [
            create_campaign(conn, tenant_id, name, CampaignStatus.SENDING, lists[0]).id
            for name in ("Spring", "Summer")
        ]
    lists.append(add_list(db, tenant_id))
    world = World(db, tenant_id, lists, campaigns[0], [], settings=FORMS[form])
    with db.write() as conn:
        catalog = load_catalog(conn, tenant_id)
        for list_id in lists:
            for raw in CONDITIONS:
                stored = dump_condition(parse_native(raw, catalog, TZ))
                world.segment_ids.append(
                    insert_segment(
                        conn,
                        tenant_id,
                        list_id=list_id,
                        name="E",
                        segment_type=0,
                        condition=stored,
                    )
                )
    finish_builds(world)
    return world, campaigns


events = st.lists(
    st.tuples(
        st.sampled_from(EMAILS),
        st.integers(0, 1),  # which campaign
        st.sampled_from(["sent", "open", "click"]),
        st.sampled_from([0, 3, 6, 8, 40]),  # days ago
    ),
    min_size=1,
    max_size=6,
)
operations = st.lists(
    st.one_of(
        st.tuples(st.just("join"), st.lists(st.sampled_from(EMAILS), min_size=1, unique=True)),
        st.tuples(st.just("events"), events),
        st.tuples(st.just("delete"), st.lists(st.integers(0, len(EMAILS) - 1), min_size=1)),
        st.tuples(st.just("step")),
    ),
    max_size=10,
)


def apply(world: World, campaigns: list[int], operation: tuple[Any, ...]) -> None:
    kind, *args = operation
    if kind == "step":
        build_step(world)
        return
    with world.db.write() as conn:
        if kind == "join":
            rows = [{"email": email} for email in args[0]]
            upsert_members(
                conn, world.tenant_id, world.lists[len(args[0]) % 2], rows,
                update_existing=True, tag_flag=TagFlag.KEEP, tz=TZ,
            )  # fmt: skip
        elif kind == "events":
            now = int(time.time())
            for email, which, event, days_ago in args[0]:
                raw = [{"email": email, "event": event, "time": now - days_ago * 86_400}]
                record_events(conn, world.tenant_id, campaigns[which], raw, TZ)
        elif kind == "delete":
            delete_members(conn, world.tenant_id, member_ids(world, args[0]))


@settings(
    max_examples=20,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(ops=operations)
@pytest.mark.parametrize("form", FORMS)
def test_engagement_segments_follow_events_as_a_rebuild_would(
    db: Database, form: str, ops: list[tuple[Any, ...]]
) -> None:
    world, campaigns = make_world(db, form)
    for operation in ops:
        apply(world, campaigns, operation)
        check(world)
    finish_builds(world)
    check(world)
