"""Real-time membership: after any sequence of member changes, each segment's published
membership (and the part a running build has done) equals what a full rebuild computes.

The expected sets come from the compiled SQL (``storage.compiler``), not from the in-memory
evaluator that real-time updates use, so the two paths check each other.
"""

from __future__ import annotations

import threading
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

import httpx
import pytest
import sqlalchemy as sa
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy.engine import Connection

from segmentd.domain.fields import CampaignStatus
from segmentd.domain.stored_form import load_condition
from segmentd.jobs.build_plan import Plan
from segmentd.jobs.build_queue import Claim, claim_job, enqueue_build
from segmentd.jobs.build_runner import run_chunk
from segmentd.jobs.build_steps import Step, prepare
from segmentd.membership.buckets import bucket_of
from segmentd.membership.removal import remove_members
from segmentd.services.member_service import (
    delete_members,
    record_events,
    unsubscribe,
    upsert_members,
)
from segmentd.services.segment_service import insert_segment, redefine_segment
from segmentd.settings import Settings
from segmentd.storage.campaigns import create_campaign
from segmentd.storage.catalog import load_catalog
from segmentd.storage.compiler import compile_condition
from segmentd.storage.db import Database
from segmentd.storage.field_defs import check_spec, create_field
from segmentd.storage.members import TagFlag
from segmentd.storage.schema import (
    build_jobs,
    members,
    segment_buckets,
    segment_exclusions,
    segments,
)
from segmentd.storage.segments import delete_segment, get_segment
from segmentd.storage.tenants import create_tenant, default_list_id
from tests.conftest import wait_built
from tests.support.factories import add_list, held, number_of, replayed
from tests.support.ingest_helpers import (
    CAMPAIGNS,
    MEMBERS,
    SEGMENTS,
    make_campaign,
    make_field,
    ok,
    upsert,
)
from tests.support.stored_conditions import stored_condition

# Chunks of 3 members, so builds stay in progress across several operations.
SMALL_CHUNKS = Settings().model_copy(update={"build_chunk_size": 3})
# Builds store each generation as its members, or as its complement whenever a member matches
# (``membership.complement``): every rule here must hold for both.
FORMS = {
    "plain": SMALL_CHUNKS.model_copy(update={"build_complement_share": 1.0}),
    "complement": SMALL_CHUNKS.model_copy(update={"build_complement_share": 0.0}),
}
TZ = SMALL_CHUNKS.tz
EMAILS = [f"m{i}@example.com" for i in range(8)]
CITIES = ["Paris", "paris", "Lyon", "São Paulo"]
PLANS = ["Free", "Pro"]
TAGS = ["vip", "news"]
SEGMENTS_PER_WORLD = 10  # five conditions on each of two lists


def item(field_name: str, op: str, value: str, **extra: Any) -> dict[str, Any]:
    return {"field_name": field_name, "op": op, "value": value, **extra}


def conditions(campaign_id: int) -> list[tuple[int, dict[str, Any]]]:
    """(segment type, condition) of the segments each example keeps current."""
    return [
        (0, {"relation": "and", "items": [item("Age", ">=", "30"), item("City", "==", "paris")]}),
        (0, {"relation": "or", "items": [item("tag", "==", "vip"), item("Plan", "==", "Pro")]}),
        (0, {"relation": "and", "items": [item("tag", "!=", "vip"), item("City", "!=", "Lyon")]}),
        (
            0,
            {
                "relation": "or",
                "items": [
                    item("UnsubscribeTime", "<=", "2100-01-01"),
                    item("Email", "contain", "M1"),
                ],
            },
        ),
        (
            1,
            {
                "relation": "and",
                "items": [
                    item("campaign", "==", "open", campaign_id=campaign_id),
                    item("campaign", "==", "unclick", campaign_id=campaign_id),
                ],
            },
        ),
    ]


@dataclass
class World:
    """One tenant with fields, a campaign and segments on two lists."""

    db: Database
    tenant_id: int
    lists: list[int]
    campaign_id: int
    segment_ids: list[str]
    claims: dict[int, tuple[Claim, Plan]] = field(default_factory=dict)
    settings: Settings = field(default_factory=lambda: SMALL_CHUNKS)


def make_world(db: Database, settings: Settings = SMALL_CHUNKS) -> World:
    with db.write() as conn:
        tenant_id = create_tenant(conn, "realtime")
        for name, kind, extra in (
            ("Age", 1, {}),
            ("City", 0, {}),
            ("Plan", 4, {"options": PLANS}),
        ):
            create_field(conn, tenant_id, check_spec(name, kind, **extra))
        lists = [default_list_id(conn, tenant_id)]
        campaign = create_campaign(conn, tenant_id, "Sale", CampaignStatus.SENDING, lists[0])
    lists.append(add_list(db, tenant_id))
    world = World(db, tenant_id, lists, campaign.id, [], settings=settings)
    with db.write() as conn:
        upsert_members(
            conn,
            tenant_id,
            lists[0],
            [{"email": "seed@example.com", "tags": TAGS}],
            update_existing=True,
            tag_flag=TagFlag.APPEND,
            tz=TZ,
        )
        for list_id in lists:
            for kind, raw in conditions(campaign.id):
                # Valid, as the API requires.
                condition = stored_condition(conn, tenant_id, raw, kind)
                segment_id = insert_segment(
                    conn,
                    tenant_id,
                    list_id=list_id,
                    name="S",
                    segment_type=kind,
                    condition=condition,
                )
                world.segment_ids.append(segment_id)
    assert len(world.segment_ids) == SEGMENTS_PER_WORLD
    finish_builds(world)
    return world


def build_step(world: World) -> None:
    """Run one chunk of some build (claiming the oldest queued job when none is held)."""
    if not world.claims:
        claim = claim_job(world.db, "test-worker", 60)
        if claim is None:
            return
        plan = prepare(world.db, world.settings, claim)
        if not isinstance(plan, Plan):
            return
        world.claims[claim.job_id] = (claim, plan)
    job_id, (claim, plan) = next(iter(world.claims.items()))
    if run_chunk(world.db, world.settings, claim, plan) is not Step.PROGRESS:
        del world.claims[job_id]


def finish_builds(world: World) -> None:
    for _ in range(1000):
        with world.db.read() as conn:
            active = conn.execute(
                sa.select(sa.func.count()).where(build_jobs.c.state.in_(["queued", "running"]))
            ).scalar_one()
        if not active and not world.claims:
            return
        if not world.claims and claim_job_is_blocked(world):
            return
        build_step(world)
    raise AssertionError("builds did not finish")


def claim_job_is_blocked(world: World) -> bool:
    """Only jobs held by an earlier, failed example remain: nothing here can run them."""
    with world.db.read() as conn:
        queued = conn.execute(
            sa.select(sa.func.count()).where(build_jobs.c.state == "queued")
        ).scalar_one()
    return queued == 0


def expected(world: World, segment_id: str) -> set[int]:
    """The members a full rebuild selects, by the compiled SQL."""
    with world.db.read() as conn:
        segment = get_segment(conn, world.tenant_id, segment_id)
        assert segment is not None
        catalog = load_catalog(conn, world.tenant_id)
        condition = load_condition(segment.condition, catalog, TZ)
        excluded = sa.select(segment_exclusions.c.member_id).where(
            segment_exclusions.c.tenant_id == world.tenant_id,
            segment_exclusions.c.segment_id == segment_id,
        )
        return set(
            conn.execute(
                sa.select(members.c.id).where(
                    members.c.tenant_id == world.tenant_id,
                    members.c.list_id == segment.list_id,
                    compile_condition(condition),
                    members.c.id.not_in(excluded),
                )
            ).scalars()
        )


def rows(world: World, segment_id: str, generation: int) -> set[int]:
    """The members a generation holds, whichever form its rows take."""
    return set(held(world.db, segment_id, generation))


def bucket_counts(world: World, segment_id: str, generation: int) -> dict[int, int]:
    b = segment_buckets.c
    with world.db.read() as conn:
        found = conn.execute(
            sa.select(b.bucket, b.members).where(
                b.tenant_id == world.tenant_id,
                b.segment_number == number_of(segment_id),
                b.generation == generation,
                b.members != 0,
            )
        ).all()
    return dict(found)


def check(world: World) -> None:
    for segment_id in world.segment_ids:
        want = expected(world, segment_id)
        with world.db.read() as conn:
            segment = get_segment(conn, world.tenant_id, segment_id)
            jobs = conn.execute(
                sa.select(build_jobs.c.generation, build_jobs.c.cursor).where(
                    build_jobs.c.segment_id == segment_id,
                    build_jobs.c.state.in_(["queued", "running"]),
                )
            ).all()
        assert segment is not None and segment.generation > 0
        assert rows(world, segment_id, segment.generation) == want, segment.condition
        assert replayed(world.db, world.tenant_id, segment_id) == want, (
            "history",
            segment.condition,
        )
        assert segment.member_total == len(want)
        assert bucket_counts(world, segment_id, segment.generation) == Counter(
            bucket_of(m) for m in want
        )
        for generation, cursor in jobs:
            done = {m for m in rows(world, segment_id, generation) if m <= cursor}
            assert done == {m for m in want if m <= cursor}, ("build", segment.condition)


def member_ids(world: World, indexes: list[int]) -> list[int]:
    keys = [EMAILS[i] for i in indexes]
    with world.db.read() as conn:
        return list(
            conn.execute(
                sa.select(members.c.id).where(
                    members.c.tenant_id == world.tenant_id, members.c.email_key.in_(keys)
                )
            ).scalars()
        )


rows_strategy = st.lists(
    st.fixed_dictionaries(
        {"email": st.sampled_from(EMAILS)},
        optional={
            "fields": st.fixed_dictionaries(
                {},
                optional={
                    "Age": st.sampled_from(["", "18", "30", "45.5"]),
                    "City": st.sampled_from(["", *CITIES]),
                    "Plan": st.sampled_from(["", *PLANS]),
                },
            ),
            "tags": st.none() | st.lists(st.sampled_from(TAGS), unique=True),
        },
    ),
    min_size=1,
    max_size=4,
    unique_by=lambda row: row["email"],
)
operations = st.lists(
    st.one_of(
        st.tuples(st.just("upsert"), rows_strategy, st.sampled_from(TagFlag), st.integers(0, 1)),
        st.tuples(
            st.just("events"),
            st.lists(
                st.tuples(st.sampled_from(EMAILS), st.sampled_from(["sent", "open", "click"]))
            ),
        ),
        st.tuples(st.just("unsubscribe"), st.lists(st.sampled_from(EMAILS), min_size=1)),
        st.tuples(st.just("delete"), st.lists(st.integers(0, len(EMAILS) - 1), min_size=1)),
        st.tuples(
            st.just("exclude"),
            st.integers(0, SEGMENTS_PER_WORLD - 1),
            st.lists(st.integers(0, len(EMAILS) - 1), min_size=1),
        ),
        st.tuples(st.just("rebuild"), st.integers(0, SEGMENTS_PER_WORLD - 1)),
        st.tuples(st.just("step")),
    ),
    max_size=12,
)


def apply(world: World, operation: tuple[Any, ...]) -> None:
    kind, *args = operation
    if kind == "step":
        build_step(world)
        return
    with world.db.write() as conn:
        tenant = world.tenant_id
        if kind == "upsert":
            rows_, flag, which = args
            upsert_members(
                conn, tenant, world.lists[which], rows_, update_existing=True, tag_flag=flag, tz=TZ
            )
        elif kind == "events":
            raw = [{"email": email, "event": event} for email, event in args[0]]
            if raw:
                record_events(conn, tenant, world.campaign_id, raw, TZ)
        elif kind == "unsubscribe":
            for list_id in world.lists:
                unsubscribe(conn, tenant, list_id, args[0], TZ)
        elif kind == "delete":
            delete_members(conn, tenant, member_ids(world, args[0]))
        elif kind == "exclude":
            remove_members(conn, tenant, world.segment_ids[args[0]], member_ids(world, args[1]))
        elif kind == "rebuild":
            enqueue_build(conn, tenant, world.segment_ids[args[0]])


@settings(
    max_examples=25,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(ops=operations)
@pytest.mark.parametrize("form", FORMS)
def test_real_time_membership_equals_a_full_rebuild(
    db: Database, form: str, ops: list[tuple]
) -> None:
    world = make_world(db, FORMS[form])
    for operation in ops:
        apply(world, operation)
    check(world)
    finish_builds(world)
    check(world)


def upsert_first_list(conn: Connection, world: World, rows: list[dict[str, Any]]) -> None:
    upsert_members(
        conn,
        world.tenant_id,
        world.lists[0],
        rows,
        update_existing=True,
        tag_flag=TagFlag.APPEND,
        tz=TZ,
    )


def test_changes_reach_a_build_in_progress(db: Database) -> None:
    """Members the build has passed are updated in its generation; later ones it finds itself."""
    world = make_world(db)
    emails = [f"u{i}@example.com" for i in range(9)]
    with db.write() as conn:
        upsert_first_list(conn, world, [{"email": e} for e in emails])
        enqueue_build(conn, world.tenant_id, world.segment_ids[1])  # tag vip or Plan Pro
    build_step(world)  # claims the job and builds the first chunk
    with db.read() as conn:
        cursor = conn.execute(
            sa.select(build_jobs.c.cursor).where(build_jobs.c.state == "running")
        ).scalar_one()
    with db.write() as conn:
        upsert_first_list(conn, world, [{"email": e, "tags": ["vip"]} for e in emails])
    check(world)
    # The build generation already holds the passed members that just became VIPs.
    assert cursor > 0 and any(m <= cursor for m in expected(world, world.segment_ids[1]))
    finish_builds(world)
    check(world)
    with db.read() as conn:
        segment = get_segment(conn, world.tenant_id, world.segment_ids[1])
    assert segment is not None and segment.member_total == len(emails) + 1


def test_segments_created_edited_or_deleted_are_followed_at_once(db: Database) -> None:
    """Real-time updates keep what they know of a list's segments between changes; a new,
    edited or deleted segment must show in the very next change."""
    world = make_world(db)
    tenant, list_id = world.tenant_id, world.lists[0]

    def set_city(city: str) -> None:
        with db.write() as conn:
            upsert_members(
                conn,
                tenant,
                list_id,
                [{"email": "mover@example.com", "fields": {"City": city}}],
                update_existing=True,
                tag_flag=TagFlag.KEEP,
                tz=TZ,
            )

    set_city("Paris")  # every segment of the list is known now
    with db.write() as conn:
        lyon = insert_segment(
            conn,
            tenant,
            list_id=list_id,
            name="Lyon",
            segment_type=0,
            condition=stored_condition(
                conn, tenant, {"relation": "and", "items": [item("City", "==", "Lyon")]}
            ),
        )
    world.segment_ids.append(lyon)
    finish_builds(world)
    set_city("Lyon")
    check(world)
    with db.write() as conn:
        redefine_segment(
            conn,
            tenant,
            lyon,
            name=None,
            segment_type=0,
            condition=stored_condition(
                conn, tenant, {"relation": "and", "items": [item("City", "==", "Nice")]}
            ),
        )
    finish_builds(world)
    set_city("Nice")
    check(world)
    with db.write() as conn:
        assert delete_segment(conn, tenant, lyon)
    world.segment_ids.remove(lyon)
    set_city("Lyon")
    check(world)


def test_a_change_that_waited_for_a_build_chunk_reaches_the_members_it_passed(
    db: Database,
) -> None:
    """An update that waits while a build chunk holds the segment reads the cursor the chunk
    left, not the one it would have seen before waiting."""
    world = make_world(db)
    emails = [f"u{i}@example.com" for i in range(6)]
    vip_or_pro = world.segment_ids[1]  # nobody matches until the update below
    with db.write() as conn:
        upsert_first_list(conn, world, [{"email": e} for e in emails])
        enqueue_build(conn, world.tenant_id, vip_or_pro)
    build_step(world)  # the build is running, its cursor part way
    chunk_holds_segment, update_done = threading.Event(), threading.Event()
    release = threading.Event()

    def chunk() -> None:
        # As a worker's chunk does: lock the segment, fill (nobody matches yet), move the
        # cursor past every member; then hold the transaction open a moment.
        with db.write() as conn:
            conn.execute(
                sa.select(segments.c.id).where(segments.c.id == vip_or_pro).with_for_update()
            )
            conn.execute(
                sa.update(build_jobs)
                .where(build_jobs.c.segment_id == vip_or_pro, build_jobs.c.state == "running")
                .values(cursor=10**9)
            )
            chunk_holds_segment.set()
            release.wait(10)

    def update() -> None:
        chunk_holds_segment.wait(10)
        with db.write() as conn:
            upsert_first_list(conn, world, [{"email": e, "tags": ["vip"]} for e in emails])
        update_done.set()

    threads = [threading.Thread(target=chunk), threading.Thread(target=update)]
    for thread in threads:
        thread.start()
    chunk_holds_segment.wait(10)
    assert not update_done.wait(0.5), "the update must wait for the chunk"
    release.set()
    for thread in threads:
        thread.join(10)
    assert update_done.is_set()
    with db.read() as conn:
        generation = conn.execute(
            sa.select(build_jobs.c.generation).where(
                build_jobs.c.segment_id == vip_or_pro, build_jobs.c.state == "running"
            )
        ).scalar_one()
        vips = set(
            conn.execute(sa.select(members.c.id).where(members.c.email.in_(emails))).scalars()
        )
    assert len(vips) == len(emails) and vips <= rows(world, vip_or_pro, generation)


def test_http_changes_show_without_a_rebuild(client: httpx.Client) -> None:
    make_field(client, "Age", 1)
    upsert(client, [{"email": "young@example.com", "fields": {"Age": "20"}}])
    body = {
        "segment_name": "Over 30",
        "type": 0,
        "condition": {"relation": "and", "items": [item("Age", ">", "30")]},
    }
    segment_id = ok(client.post(SEGMENTS, json=body))["result"]["segment_id"]
    assert wait_built(client, segment_id)["member_total"] == 0

    def state() -> tuple[int, str, list[str]]:
        segment = ok(client.get(f"{SEGMENTS}/{segment_id}"))["result"]
        listed = ok(client.post(f"{SEGMENTS}/{segment_id}/members", json={}))["result"]
        return segment["member_total"], segment["status"], [m["email"] for m in listed]

    upsert(client, [{"email": "young@example.com", "fields": {"Age": "40"}}])
    upsert(client, [{"email": "new@example.com", "fields": {"Age": "50"}}])
    assert state() == (2, "2", ["young@example.com", "new@example.com"])
    upsert(client, [{"email": "new@example.com", "fields": {"Age": "10"}}])
    assert state() == (1, "2", ["young@example.com"])
    ok(client.request("DELETE", MEMBERS, json={"emails": ["young@example.com"]}))
    assert state() == (0, "2", [])


def test_http_events_and_unsubscribes_move_members(client: httpx.Client) -> None:
    upsert(client, [{"email": "a@example.com"}, {"email": "b@example.com"}])
    campaign = make_campaign(client)
    opened_not_clicked = {
        "segment_name": "Opened not clicked",
        "type": 1,
        "condition": {
            "relation": "and",
            "items": [
                item("campaign", "==", "open", campaign_id=campaign),
                item("campaign", "==", "unclick", campaign_id=campaign),
            ],
        },
    }
    unsubscribed = {
        "segment_name": "Unsubscribed",
        "type": 0,
        "condition": {"relation": "and", "items": [item("UnsubscribeTime", "<=", "2100-01-01")]},
    }
    first = ok(client.post(SEGMENTS, json=opened_not_clicked))["result"]["segment_id"]
    second = ok(client.post(SEGMENTS, json=unsubscribed))["result"]["segment_id"]
    wait_built(client, first)
    wait_built(client, second)

    def total(segment_id: str) -> int:
        count: int = ok(client.get(f"{SEGMENTS}/{segment_id}"))["result"]["member_total"]
        return count

    events = [
        {"email": "a@example.com", "event": "open"},
        {"email": "b@example.com", "event": "open"},
    ]
    ok(client.post(f"{CAMPAIGNS}/{campaign}/events", json={"events": events}))
    assert total(first) == 2
    ok(
        client.post(
            f"{CAMPAIGNS}/{campaign}/events",
            json={"events": [{"email": "b@example.com", "event": "click"}]},
        )
    )
    assert total(first) == 1
    assert total(second) == 0
    ok(client.post(f"{MEMBERS}/unsubscribe", json={"emails": ["a@example.com"]}))
    assert total(second) == 1
    assert ok(client.get(f"{SEGMENTS}/{second}"))["result"]["status"] == "2"
