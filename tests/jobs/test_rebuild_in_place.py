"""Rebuilds of a published segment applied in place on the system of record
(``jobs.record_rebuild``): the published generation and its form stay, and after any sequence
of redefinitions, member changes, removals by hand and rebuilds it holds exactly what a full
build of a new generation holds (a twin segment, built so, says so), its count and bucket
counts are exact, its history replays to it, and a segment referring to it follows."""

from __future__ import annotations

import threading
from dataclasses import dataclass
from typing import Any

import pytest
import sqlalchemy as sa
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from segmentd.domain.segment_graph import SegmentOwner
from segmentd.jobs import in_place_rebuild, record_rebuild
from segmentd.jobs.build_queue import claim_job, enqueue_build
from segmentd.jobs.build_worker import run_job, run_pending
from segmentd.services import segment_service
from segmentd.services.member_service import delete_members, upsert_members
from segmentd.services.native_conditions import checked_native_condition
from segmentd.settings import Settings
from segmentd.storage.db import Database
from segmentd.storage.field_defs import check_spec, create_field
from segmentd.storage.members import TagFlag
from segmentd.storage.membership_history import read_changes
from segmentd.storage.schema import build_jobs, members, segment_buckets
from segmentd.storage.segments import get_segment
from segmentd.storage.tenants import create_tenant, default_list_id
from tests.support.factories import held, native_segment, number_of, replayed, selected_now

SMALL_CHUNKS = Settings().model_copy(update={"build_chunk_size": 3})
FORMS = {
    "plain": SMALL_CHUNKS.model_copy(update={"build_complement_share": 1.0}),
    "complement": SMALL_CHUNKS.model_copy(update={"build_complement_share": 0.0}),
}
TZ = SMALL_CHUNKS.tz
EMAILS = [f"m{i}@example.com" for i in range(10)]


def aged(at_least: int) -> dict[str, Any]:
    return {"all": [{"kind": "field", "field": "Age", "op": ">=", "value": str(at_least)}]}


def parisian_of(segment_id: str) -> dict[str, Any]:
    return {
        "all": [
            {"kind": "segment", "segment": segment_id, "op": "in"},
            {"kind": "field", "field": "City", "op": "==", "value": "Paris"},
        ]
    }


@dataclass
class World:
    db: Database
    tenant_id: int
    list_id: int
    settings: Settings
    segment: str  # rebuilt in place
    twin: str  # the same condition and removals, rebuilt as a new generation each time
    child: str  # refers to ``segment``
    generation: int = 0  # the segment's published generation after its first build


def make_world(db: Database, form: Settings, rows: list[dict[str, Any]], at_least: int) -> World:
    with db.write() as conn:
        tenant_id = create_tenant(conn, "in place")
        create_field(conn, tenant_id, check_spec("Age", 1))
        create_field(conn, tenant_id, check_spec("City", 0))
        list_id = default_list_id(conn, tenant_id)
        assert list_id is not None
    upsert(db, tenant_id, list_id, rows)
    segment = native_segment(db, tenant_id, list_id, "aged", aged(at_least), TZ)
    twin = native_segment(db, tenant_id, list_id, "twin", aged(at_least), TZ)
    child = native_segment(db, tenant_id, list_id, "parisian", parisian_of(segment), TZ)
    world = World(db, tenant_id, list_id, form, segment, twin, child)
    assert run_pending(db, form) >= 3
    world.generation = generation_of(world, segment)
    return world


def upsert(db: Database, tenant_id: int, list_id: int, rows: list[dict[str, Any]]) -> None:
    with db.write() as conn:
        upsert_members(
            conn, tenant_id, list_id, rows, update_existing=True, tag_flag=TagFlag.APPEND, tz=TZ
        )


def generation_of(world: World, segment_id: str) -> int:
    with world.db.read() as conn:
        segment = get_segment(conn, world.tenant_id, segment_id)
        assert segment is not None
        return int(segment.generation)


def redefine(world: World, segment_id: str, raw: dict[str, Any]) -> None:
    with world.db.write() as conn:
        owner = SegmentOwner(segment_id, "redefined", world.list_id)
        stored = checked_native_condition(conn, world.tenant_id, raw, TZ, owner)
        assert segment_service.redefine_segment(
            conn, world.tenant_id, segment_id, name=None, segment_type=0, condition=stored
        )


def rebuild_both(world: World) -> None:
    """The segment rebuilt in place (its dependent after it), then the twin as a new
    generation."""
    run_pending(world.db, world.settings)
    with world.db.write() as conn:
        enqueue_build(conn, world.tenant_id, world.twin)
    run_pending(world.db, world.settings.model_copy(update={"rebuild_in_place_limit": 0}))


def expected(world: World, segment_id: str) -> set[int]:
    return selected_now(world.db, world.tenant_id, segment_id, TZ)


def counted(world: World, segment_id: str) -> tuple[int, int]:
    """(member_total, the sum of the published generation's bucket counts)."""
    with world.db.read() as conn:
        segment = get_segment(conn, world.tenant_id, segment_id)
        assert segment is not None
        b = segment_buckets.c
        buckets = conn.execute(
            sa.select(sa.func.coalesce(sa.func.sum(b.members), 0)).where(
                b.tenant_id == world.tenant_id,
                b.segment_number == number_of(segment_id),
                b.generation == segment.generation,
            )
        ).scalar_one()
        return int(segment.member_total), int(buckets)


def check(world: World) -> None:
    members_now = set(held(world.db, world.segment))
    assert generation_of(world, world.segment) == world.generation  # rebuilt in place
    assert members_now == expected(world, world.segment) == set(held(world.db, world.twin))
    for segment_id in (world.segment, world.child):
        found = set(held(world.db, segment_id))
        assert found == expected(world, segment_id)
        assert counted(world, segment_id) == (len(found), len(found))
        assert replayed(world.db, world.tenant_id, segment_id) == found


def member_ids(world: World, indexes: list[int]) -> list[int]:
    emails = [EMAILS[i] for i in indexes]
    with world.db.read() as conn:
        found = conn.execute(
            sa.select(members.c.id).where(
                members.c.tenant_id == world.tenant_id, members.c.email.in_(emails)
            )
        )
        return sorted(found.scalars())


ages = st.sampled_from(["", "10", "20", "30", "40"])
rows_strategy = st.lists(
    st.fixed_dictionaries(
        {"email": st.sampled_from(EMAILS)},
        optional={
            "fields": st.fixed_dictionaries(
                {}, optional={"Age": ages, "City": st.sampled_from(["", "Paris", "Lyon"])}
            )
        },
    ),
    min_size=1,
    max_size=6,
    unique_by=lambda row: row["email"],
)
thresholds = st.sampled_from([10, 20, 30, 40, 50])
indexes = st.lists(st.integers(0, len(EMAILS) - 1), min_size=1, max_size=3)
operations = st.lists(
    st.one_of(
        st.tuples(st.just("redefine"), thresholds),
        st.tuples(st.just("upsert"), rows_strategy),
        st.tuples(st.just("exclude"), indexes),
        st.tuples(st.just("delete"), indexes),
        st.tuples(st.just("rebuild")),
    ),
    max_size=8,
)


def apply(world: World, operation: tuple[Any, ...]) -> None:
    kind, *args = operation
    if kind == "redefine":
        for segment_id in (world.segment, world.twin):
            redefine(world, segment_id, aged(args[0]))
    elif kind == "upsert":
        upsert(world.db, world.tenant_id, world.list_id, args[0])
    elif kind == "exclude":
        ids = member_ids(world, args[0])
        for segment_id in (world.segment, world.twin):
            segment_service.remove_members(world.db, world.tenant_id, segment_id, ids, TZ)
    elif kind == "delete":
        with world.db.write() as conn:
            delete_members(conn, world.tenant_id, member_ids(world, args[0]))
    else:
        with world.db.write() as conn:
            enqueue_build(conn, world.tenant_id, world.segment)
    rebuild_both(world)


@settings(
    max_examples=15,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(rows=rows_strategy, at_least=thresholds, ops=operations)
@pytest.mark.parametrize("form", FORMS)
def test_a_rebuild_in_place_equals_a_full_build(
    db: Database,
    form: str,
    rows: list[dict[str, Any]],
    at_least: int,
    ops: list[tuple[Any, ...]],
) -> None:
    world = make_world(db, FORMS[form], rows, at_least)
    check(world)
    for operation in ops:
        apply(world, operation)
        check(world)


def build_changes(world: World, segment_id: str) -> list[tuple[int, str]]:
    with world.db.read() as conn:
        changes = read_changes(
            conn, world.tenant_id, after_seq=0, limit=10_000, segment_id=segment_id
        )
    return [(c.member_id, c.change) for c in changes if c.cause == "build"]


ROWS = [
    {"email": EMAILS[i], "fields": {"Age": str(10 * (i % 5)), "City": "Paris"}}
    for i in range(len(EMAILS))
]


@pytest.mark.parametrize("form", FORMS)
def test_the_history_is_the_difference(db: Database, form: str) -> None:
    """A redefinition moving members records exactly who entered and who left; a rebuild
    that moves nothing records nothing and leaves the job done."""
    world = make_world(db, FORMS[form], ROWS, 20)
    before = set(held(db, world.segment))
    recorded = build_changes(world, world.segment)
    redefine(world, world.segment, aged(30))
    run_pending(db, world.settings)
    after = set(held(db, world.segment))
    assert after == expected(world, world.segment) and after < before
    assert generation_of(world, world.segment) == world.generation
    new = build_changes(world, world.segment)[len(recorded) :]
    assert sorted(new) == sorted((m, "left") for m in before - after)

    with db.write() as conn:
        enqueue_build(conn, world.tenant_id, world.segment)
    assert run_pending(db, world.settings) >= 1  # and its dependent, moving nothing either
    assert build_changes(world, world.segment)[len(recorded) :] == new
    assert set(held(db, world.segment)) == after
    assert counted(world, world.segment) == (len(after), len(after))
    with db.read() as conn:
        states = conn.execute(
            sa.select(build_jobs.c.state).where(build_jobs.c.segment_id == world.segment)
        ).scalars()
        assert set(states) == {"done"}


@pytest.mark.parametrize("form", FORMS)
def test_over_the_limit_builds_a_new_generation(db: Database, form: str) -> None:
    """A difference larger than ``rebuild_in_place_limit``: nothing is written in place, a
    new generation is built and published, with the same history."""
    world = make_world(db, FORMS[form], ROWS, 20)
    before = set(held(db, world.segment))
    redefine(world, world.segment, aged(40))
    run_pending(db, world.settings.model_copy(update={"rebuild_in_place_limit": 1}))
    assert generation_of(world, world.segment) > world.generation
    after = set(held(db, world.segment))
    assert after == expected(world, world.segment) and len(before - after) > 1
    assert replayed(db, world.tenant_id, world.segment) == after
    assert set(held(db, world.child)) == expected(world, world.child)


@pytest.mark.parametrize("form", FORMS)
def test_a_list_larger_than_the_in_place_size_builds_a_new_generation(
    db: Database, form: str
) -> None:
    """A list of more than ``rebuild_in_place_members`` members: its rebuild goes range by
    range (its transactions stay short) however few members move; at the size, in place."""
    world = make_world(db, FORMS[form], ROWS, 20)
    redefine(world, world.segment, aged(40))
    run_pending(db, world.settings.model_copy(update={"rebuild_in_place_members": len(ROWS) - 1}))
    rebuilt = generation_of(world, world.segment)
    assert rebuilt > world.generation
    assert set(held(db, world.segment)) == expected(world, world.segment)
    redefine(world, world.segment, aged(30))
    run_pending(db, world.settings.model_copy(update={"rebuild_in_place_members": len(ROWS)}))
    assert generation_of(world, world.segment) == rebuilt
    assert set(held(db, world.segment)) == expected(world, world.segment)
    assert replayed(db, world.tenant_id, world.segment) == expected(world, world.segment)


@pytest.mark.parametrize("form", FORMS)
def test_an_error_in_the_transaction_leaves_the_published_membership(
    db: Database, form: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The rebuild's transaction fails after the rows are written (as a kill would end it):
    nothing of it stays, the job is retried and then rebuilds in place."""
    world = make_world(db, FORMS[form], ROWS, 20)
    before = set(held(db, world.segment))
    recorded = build_changes(world, world.segment)
    redefine(world, world.segment, aged(40))

    real = in_place_rebuild.follow_publish
    seen: list[tuple[set[int], list[tuple[int, str]]]] = []

    def fail_once(*args: Any) -> None:
        if not seen:  # what a reader sees meanwhile, then the first attempt dies
            seen.append((set(held(db, world.segment)), build_changes(world, world.segment)))
            raise RuntimeError("the worker died")
        real(*args)

    monkeypatch.setattr(in_place_rebuild, "follow_publish", fail_once)
    claimed = claim_job(db, "doomed", 60)
    assert claimed is not None
    assert run_job(db, world.settings, claimed, lambda: False) is None
    assert seen == [(before, recorded)]
    assert set(held(db, world.segment)) == before
    assert build_changes(world, world.segment) == recorded
    assert counted(world, world.segment) == (len(before), len(before))
    run_pending(db, world.settings)
    assert generation_of(world, world.segment) == world.generation
    assert set(held(db, world.segment)) == expected(world, world.segment) != before
    assert replayed(db, world.tenant_id, world.segment) == set(held(db, world.segment))


@pytest.mark.parametrize("form", FORMS)
def test_real_time_updates_racing_rebuilds_stay_exact(db: Database, form: str) -> None:
    """Members' ages change in a thread while the segment is rebuilt back and forth: each
    update comes before or after a rebuild's transaction, never inside it."""
    world = make_world(db, FORMS[form], ROWS, 20)
    stop = threading.Event()
    errors: list[BaseException] = []

    def churn() -> None:
        turn = 0
        try:
            while not stop.is_set():
                turn += 1
                rows = [
                    {"email": EMAILS[(turn + i) % len(EMAILS)], "fields": {"Age": str(turn % 50)}}
                    for i in range(3)
                ]
                upsert(db, world.tenant_id, world.list_id, rows)
        except BaseException as exc:
            errors.append(exc)

    thread = threading.Thread(target=churn)
    thread.start()
    try:
        for at_least in (30, 10, 40, 20, 30, 10):
            redefine(world, world.segment, aged(at_least))
            run_pending(db, world.settings)
    finally:
        stop.set()
        thread.join()
    assert not errors
    assert generation_of(world, world.segment) == world.generation
    for segment_id in (world.segment, world.child):
        found = set(held(db, segment_id))
        assert found == expected(world, segment_id)
        assert counted(world, segment_id) == (len(found), len(found))
        assert replayed(db, world.tenant_id, segment_id) == found


@pytest.mark.parametrize("form", FORMS)
def test_changes_just_before_the_rebuild_stay_exact(
    db: Database, form: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Members change after the job was planned, just before its transaction: one whose
    change undoes its move, one that now moves, one new. The rebuild leaves every member
    exact."""
    world = make_world(db, FORMS[form], ROWS, 20)
    redefine(world, world.segment, aged(30))  # the members aged 20 are to leave
    real = record_rebuild.apply_in_place

    def meanwhile(*args: Any, **kwargs: Any) -> Any:
        rows = [
            {"email": EMAILS[2], "fields": {"Age": "40"}},  # aged 20: would leave, now stays
            {"email": EMAILS[4], "fields": {"Age": "0"}},  # aged 40: would stay, now leaves
            {"email": "new@example.com", "fields": {"Age": "30", "City": "Paris"}},
        ]
        upsert(db, world.tenant_id, world.list_id, rows)
        return real(*args, **kwargs)

    monkeypatch.setattr(record_rebuild, "apply_in_place", meanwhile)
    run_pending(db, world.settings)
    assert generation_of(world, world.segment) == world.generation
    for segment_id in (world.segment, world.child):
        found = set(held(db, segment_id))
        assert found == expected(world, segment_id)
        assert counted(world, segment_id) == (len(found), len(found))
        assert replayed(db, world.tenant_id, segment_id) == found
    assert set(member_ids(world, [2, 4])) & set(held(db, world.segment)) == set(
        member_ids(world, [2])
    )
