"""Segments of segments, kept current: after any sequence of member changes, removals by
hand, static members given and taken back, rebuilds and build steps, every segment's
published membership equals what a full rebuild of it computes from the published
memberships it refers to, in both stored forms; once the builds are done (dependents are
rebuilt after their references publish), all of them do, and a rebuild of everything
changes nothing.

The expected sets come from the compiled SQL (reading the referenced segments' published
generations), the real-time path from the in-memory evaluator: the two check each other.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Any

import pytest
import sqlalchemy as sa
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from segmentd.jobs.build_plan import Plan
from segmentd.jobs.build_queue import Claim, claim_job, enqueue_build
from segmentd.jobs.build_runner import run_chunk
from segmentd.jobs.build_steps import Step, prepare
from segmentd.membership.buckets import bucket_of
from segmentd.services import segment_service
from segmentd.services.member_service import delete_members, upsert_members
from segmentd.services.static_segments import (
    StaticDraft,
    add_static_members,
    create_static_segment,
    remove_static_members,
)
from segmentd.settings import Settings
from segmentd.storage.db import Database
from segmentd.storage.field_defs import check_spec, create_field
from segmentd.storage.members import TagFlag
from segmentd.storage.schema import (
    build_jobs,
    lists,
    members,
    segment_buckets,
)
from segmentd.storage.segments import get_segment
from segmentd.storage.tenants import create_tenant, default_list_id
from tests.support.factories import (
    add_list,
    held,
    native_segment,
    number_of,
    replayed,
    selected_now,
)

SMALL_CHUNKS = Settings().model_copy(update={"build_chunk_size": 3})
FORMS = {
    "plain": SMALL_CHUNKS.model_copy(update={"build_complement_share": 1.0}),
    "complement": SMALL_CHUNKS.model_copy(update={"build_complement_share": 0.0}),
}
TZ = SMALL_CHUNKS.tz
EMAILS = [f"m{i}@example.com" for i in range(8)]


def seg(segment_id: str, op: str = "in") -> dict[str, Any]:
    return {"kind": "segment", "segment": segment_id, "op": op}


def condition(name: str, ids: dict[str, str]) -> dict[str, Any]:
    """A chain Paris <- Paris VIP <- Rest (not Paris VIP, or given) <- Old rest, over a
    static segment (given)."""
    if name == "paris":
        return {"all": [{"kind": "field", "field": "City", "op": "==", "value": "paris"}]}
    if name == "paris_vip":
        return {"all": [seg(ids["paris"]), {"kind": "tag", "tag": "vip", "op": "=="}]}
    if name == "rest":
        return {"any": [seg(ids["paris_vip"], "not_in"), seg(ids["given"])]}
    return {
        "all": [
            seg(ids["rest"]),
            {"kind": "field", "field": "Age", "op": ">=", "value": "30"},
            {"not": seg(ids["given"])},
        ]
    }


@dataclass
class World:
    db: Database
    tenant_id: int
    list_id: int
    ids: dict[str, str]  # name: segment id; "given" is static
    settings: Settings
    claims: dict[int, tuple[Claim, Plan]] = field(default_factory=dict)

    @property
    def dynamic(self) -> list[str]:
        return [i for name, i in self.ids.items() if name != "given"]


def make_world(db: Database, form_settings: Settings) -> World:
    with db.write() as conn:
        tenant_id = create_tenant(conn, "references")
        create_field(conn, tenant_id, check_spec("Age", 1))
        create_field(conn, tenant_id, check_spec("City", 0))
        list_id = default_list_id(conn, tenant_id)
        upsert_members(
            conn,
            tenant_id,
            list_id,
            [{"email": "seed@example.com", "tags": ["vip"]}],
            update_existing=True,
            tag_flag=TagFlag.APPEND,
            tz=TZ,
        )
    add_list(db, tenant_id)
    given_id = create_static_segment(db, tenant_id, StaticDraft(name="Given")).id
    world = World(db, tenant_id, list_id, {"given": given_id}, form_settings)
    for name in ("paris", "paris_vip", "rest", "old_rest"):
        raw = condition(name, world.ids)
        world.ids[name] = native_segment(db, tenant_id, list_id, name, raw, TZ)
    finish_builds(world)
    return world


def build_step(world: World) -> None:
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


def active_jobs(world: World, segment_id: str | None = None) -> list[tuple[int, int]]:
    b = build_jobs.c
    query = sa.select(b.generation, b.cursor).where(
        b.tenant_id == world.tenant_id, b.state.in_(["queued", "running"])
    )
    if segment_id is not None:
        query = query.where(b.segment_id == segment_id)
    with world.db.read() as conn:
        return [(int(g), int(c)) for g, c in conn.execute(query)]


def finish_builds(world: World) -> None:
    for _ in range(2000):
        if not active_jobs(world) and not world.claims:
            return
        build_step(world)
    raise AssertionError("builds did not finish")


def expected(world: World, segment_id: str) -> set[int]:
    return selected_now(world.db, world.tenant_id, segment_id, TZ)


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


def check(world: World, *, settled: bool = False) -> None:
    """Every segment without a build to come equals its full rebuild; every build's done
    part does too. ``settled``: no build is left, so every segment must."""
    for segment_id in world.dynamic:
        want = expected(world, segment_id)
        with world.db.read() as conn:
            segment = get_segment(conn, world.tenant_id, segment_id)
        assert segment is not None and segment.generation > 0
        jobs = active_jobs(world, segment_id)
        assert not (settled and jobs)
        if not jobs:  # else a reference published since: its rebuild is queued
            assert set(held(world.db, segment_id)) == want, segment.name
            assert segment.member_total == len(want)
            counts = bucket_counts(world, segment_id, segment.generation)
            assert counts == Counter(bucket_of(m) for m in want)
        for generation, cursor in jobs:
            done = {m for m in held(world.db, segment_id, generation) if m <= cursor}
            assert done == {m for m in want if m <= cursor}, ("build", segment.name)
    for name, segment_id in world.ids.items():
        history = replayed(world.db, world.tenant_id, segment_id)
        assert history == set(held(world.db, segment_id)), ("history", name)


def member_ids(world: World, indexes: list[int], on_list: bool = False) -> list[int]:
    keys = [EMAILS[i] for i in indexes]
    query = sa.select(members.c.id).where(
        members.c.tenant_id == world.tenant_id, members.c.email_key.in_(keys)
    )
    if on_list:
        query = query.where(members.c.list_id == world.list_id)
    with world.db.read() as conn:
        return list(conn.execute(query).scalars())


rows_strategy = st.lists(
    st.fixed_dictionaries(
        {"email": st.sampled_from(EMAILS)},
        optional={
            "fields": st.fixed_dictionaries(
                {},
                optional={
                    "Age": st.sampled_from(["", "18", "30"]),
                    "City": st.sampled_from(["", "Paris", "Lyon"]),
                },
            ),
            "tags": st.none() | st.lists(st.sampled_from(["vip", "news"]), unique=True),
        },
    ),
    min_size=1,
    max_size=4,
    unique_by=lambda row: row["email"],
)
indexes = st.lists(st.integers(0, len(EMAILS) - 1), min_size=1, max_size=4)
NAMES = ["paris", "paris_vip", "rest", "old_rest"]
operations = st.lists(
    st.one_of(
        st.tuples(st.just("upsert"), rows_strategy, st.sampled_from(TagFlag), st.integers(0, 1)),
        st.tuples(st.just("delete"), indexes),
        st.tuples(st.just("exclude"), st.sampled_from(NAMES[:3]), indexes),
        st.tuples(st.just("give"), indexes),
        st.tuples(st.just("take"), indexes),
        st.tuples(st.just("rebuild"), st.sampled_from(NAMES)),
        st.tuples(st.just("step")),
    ),
    max_size=14,
)


def apply(world: World, operation: tuple[Any, ...]) -> None:
    kind, *args = operation
    tenant = world.tenant_id
    if kind == "step":
        build_step(world)
    elif kind == "upsert":
        rows, flag, second_list = args
        list_id = world.list_id if not second_list else None
        with world.db.write() as conn:
            if list_id is None:
                list_id = other_list(conn, world)
            upsert_members(conn, tenant, list_id, rows, update_existing=True, tag_flag=flag, tz=TZ)
    elif kind == "delete":
        with world.db.write() as conn:
            delete_members(conn, tenant, member_ids(world, args[0]))
    elif kind == "exclude":
        ids = member_ids(world, args[1])
        segment_service.remove_members(world.db, tenant, world.ids[args[0]], ids, TZ)
    elif kind in ("give", "take"):
        ids = member_ids(world, args[0], on_list=True)
        if ids:
            change = add_static_members if kind == "give" else remove_static_members
            change(world.db, tenant, world.ids["given"], TZ, member_ids=ids)
    elif kind == "rebuild":
        with world.db.write() as conn:
            enqueue_build(conn, tenant, world.ids[args[0]])


def other_list(conn: sa.Connection, world: World) -> int:
    found = conn.execute(
        sa.select(lists.c.id).where(
            lists.c.tenant_id == world.tenant_id, lists.c.id != world.list_id
        )
    ).scalar_one()
    return int(found)


@settings(
    max_examples=20,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(ops=operations)
@pytest.mark.parametrize("form", FORMS)
def test_segments_of_segments_equal_a_full_rebuild(
    db: Database, form: str, ops: list[tuple[Any, ...]]
) -> None:
    world = make_world(db, FORMS[form])
    for operation in ops:
        apply(world, operation)
        check(world)
    finish_builds(world)
    check(world, settled=True)
    before = {segment_id: set(held(db, segment_id)) for segment_id in world.ids.values()}
    with db.write() as conn:
        for segment_id in world.ids.values():
            enqueue_build(conn, world.tenant_id, segment_id)  # a static one: nothing to build
    finish_builds(world)
    check(world, settled=True)
    assert {segment_id: set(held(db, segment_id)) for segment_id in world.ids.values()} == before
