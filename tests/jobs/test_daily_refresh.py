"""The daily refresh of time-dependent segments, on both databases: days pass on a clock the
tests move (``segmentd.clock``), in the tenant's zone (+08:00 here, so its day boundary is
not UTC's), and the segments follow with no change to any member."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta, timezone
from typing import Any

import pytest
import sqlalchemy as sa

from segmentd import clock
from segmentd.domain.evaluator import evaluate
from segmentd.domain.fields import FieldDef, FieldType
from segmentd.domain.member_changes import MembersChanged
from segmentd.domain.statuses import SegmentStatus
from segmentd.domain.stored_form import load_condition
from segmentd.domain.values import EPOCH
from segmentd.jobs.build_queue import enqueue_build, enqueue_builds
from segmentd.jobs.build_runner import run_chunk as run_build_chunk
from segmentd.jobs.build_steps import Step
from segmentd.jobs.build_worker import Worker, run_pending
from segmentd.jobs.refresh_queue import MAX_ATTEMPTS, claim_refresh, enqueue_due
from segmentd.jobs.refresh_runner import (
    Conditions,
    prepare,
    refresh_pending,
    run_chunk,
    run_refresh,
)
from segmentd.membership import read_changes, store
from segmentd.settings import Settings
from segmentd.storage import schema
from segmentd.storage.catalog import load_catalog
from segmentd.storage.contacts import load_contacts
from segmentd.storage.db import Database
from segmentd.storage.segments import get_segment
from segmentd.storage.tenants import default_list_id
from segmentd.timefmt import now
from tests.conftest import Tenant, wait_until
from tests.conftest import test_settings as settings_for
from tests.jobs.test_builds import start_job
from tests.support.day_leaf import recent_leaf, stored
from tests.support.factories import add_field, add_segment_row, held, replayed
from tests.support.moving_clock import MovingClock, moving_clock

ZONE = timezone(timedelta(hours=8))  # the settings' default time_zone, +08:00
DAY = date(2024, 3, 10)
MEMBERS = 450  # chunks of 100: five per pass
OFFSETS = range(-8, 4)  # member i's date is DAY + OFFSETS[i % 12]


@pytest.fixture
def settings(db_url: str) -> Settings:
    return settings_for(db_url, build_parallelism=1)


@pytest.fixture
def day_clock() -> Iterator[MovingClock]:
    """23:30 on DAY in the tenant's zone: half an hour before its day boundary."""
    with moving_clock(datetime(2024, 3, 10, 23, 30, tzinfo=ZONE)) as moving:
        yield moving


@pytest.fixture
def joined(db: Database, tenant: Tenant, day_clock: MovingClock) -> Iterator[FieldDef]:
    """A date field Joined, members whose Joined runs from 8 days before DAY to 3 after, and
    the test leaf registered."""
    field = add_field(db, tenant.id, "Joined", FieldType.DATE, format="MM/DD/YYYY")
    first = (DAY - EPOCH).days
    with db.write() as conn:
        list_id = default_list_id(conn, tenant.id)
        rows = [_member(tenant.id, list_id, i, field, first) for i in range(MEMBERS)]
        conn.execute(sa.insert(schema.members), rows)
    with recent_leaf():
        yield field


def _member(tenant_id: int, list_id: int, i: int, field: FieldDef, first: int) -> dict[str, Any]:
    email = f"user{i}@example.com"
    return {
        "tenant_id": tenant_id,
        "list_id": list_id,
        "email": email,
        "email_key": email,
        "domain": "example.com",
        "created_at": now(),
        "updated_at": now(),
        f"n{field.slot}": float(first + OFFSETS[i % len(OFFSETS)]),
    }


def condition_of(*items: dict[str, Any], relation: str = "and") -> dict[str, Any]:
    return {"version": 1, "relation": relation, "items": list(items)}


def add_stored_segment(db: Database, tenant_id: int, condition: dict[str, Any]) -> str:
    """A segment with a stored condition and its first build queued, as a create leaves it."""
    return add_segment_row(db, tenant_id, condition)


def list_contacts(db: Database, tenant_id: int, list_id: int) -> dict[int, Any]:
    """Every member of the list as the evaluator reads them."""
    with db.read() as conn:
        ids = conn.execute(
            sa.select(schema.members.c.id).where(schema.members.c.list_id == list_id)
        ).scalars()
        return load_contacts(conn, tenant_id, list(ids), load_catalog(conn, tenant_id))


def expected(
    db: Database,
    tenant_id: int,
    segment_id: str,
    day: date,
    contacts: dict[int, Any] | None = None,
) -> list[int]:
    """The evaluator's answer over the list for the segment's condition read on ``day``;
    ``contacts``: the list's (``list_contacts``), when several segments are checked at once."""
    with db.read() as conn:
        segment = get_segment(conn, tenant_id, segment_id)
        assert segment is not None
        catalog = load_catalog(conn, tenant_id)
        parsed = load_condition(segment.condition, catalog, ZONE, today=day)
    if contacts is None:
        contacts = list_contacts(db, tenant_id, segment.list_id)
    return sorted(i for i, contact in contacts.items() if evaluate(parsed, contact))


def assert_exact(
    db: Database,
    tenant_id: int,
    segment_id: str,
    day: date,
    contacts: dict[int, Any] | None = None,
) -> list[int]:
    """The segment holds the day's answer, and its total and bucket counts say so."""
    members = held(db, segment_id)
    assert members == expected(db, tenant_id, segment_id, day, contacts)
    assert replayed(db, tenant_id, segment_id) == set(members)  # the history agrees
    assert_counted(db, tenant_id, segment_id, len(members))
    return members


def assert_counted(db: Database, tenant_id: int, segment_id: str, count: int) -> None:
    with db.read() as conn:
        segment = get_segment(conn, tenant_id, segment_id)
        assert segment is not None
        assert segment.member_total == count
        assert store().count(conn, segment_key(segment)) == count


def segment_key(segment: Any) -> Any:
    class Key:
        tenant_id = segment.tenant_id
        segment_id = segment.id
        segment_number = segment.number
        generation = segment.generation

    return Key()


def segment_row(db: Database, segment_id: str) -> Any:
    with db.read() as conn:
        return conn.execute(
            sa.select(schema.segments).where(schema.segments.c.id == segment_id)
        ).one()


def refresh_rows(db: Database) -> list[Any]:
    with db.read() as conn:
        return list(conn.execute(sa.select(schema.refresh_jobs).order_by(schema.refresh_jobs.c.id)))


def expire_lease(db: Database, job_id: int) -> None:
    """The worker holding the job died and its lease ran out (set, not slept)."""
    with db.write() as conn:
        conn.execute(
            sa.update(schema.refresh_jobs)
            .where(schema.refresh_jobs.c.id == job_id)
            .values(lease_expires_at=time.time() - 1)
        )


def set_joined(db: Database, tenant_id: int, member_id: int, field: FieldDef, day: date) -> None:
    """A member's Joined changes, with its real-time update, in one transaction."""
    with db.write() as conn:
        conn.execute(
            sa.update(schema.members)
            .where(schema.members.c.id == member_id)
            .values({f"n{field.slot}": float((day - EPOCH).days)})
        )
        store().apply_changes(conn, tenant_id, MembersChanged([member_id]), ZONE)


def member_ids(db: Database) -> list[int]:
    with db.read() as conn:
        found = conn.execute(sa.select(schema.members.c.id).order_by(schema.members.c.id))
        return [int(member_id) for member_id in found.scalars()]


# ---------------------------------------------------------------------------------------------


def test_a_relative_segment_moves_at_the_day_boundary_of_the_tenant_zone(
    db: Database, settings: Settings, tenant: Tenant, joined: FieldDef, day_clock: MovingClock
) -> None:
    segment_id = add_stored_segment(db, tenant.id, condition_of(stored(joined, 2)))
    assert run_pending(db, settings) == 1
    before = assert_exact(db, tenant.id, segment_id, DAY)
    built = segment_row(db, segment_id)
    assert (built.time_dependent, built.exact_day) == (True, DAY)
    assert built.exact_at == built.built_at
    assert refresh_pending(db, settings) == 0  # nothing is due before the boundary

    day_clock.advance(hours=1)  # 00:30 the next day in +08:00; UTC is still on DAY
    assert datetime.fromtimestamp(clock.now(), UTC).date() == DAY
    assert refresh_pending(db, settings) == 1

    after = assert_exact(db, tenant.id, segment_id, DAY + timedelta(days=1))
    assert after != before
    refreshed = segment_row(db, segment_id)
    assert refreshed.exact_day == DAY + timedelta(days=1)
    assert refreshed.exact_at >= built.exact_at
    assert refreshed.generation == built.generation  # in place: no rebuild
    (job,) = refresh_rows(db)
    assert (job.state, job.day, job.processed) == ("done", DAY + timedelta(days=1), MEMBERS)
    assert job.changed == len(set(before) ^ set(after))
    assert refresh_pending(db, settings) == 0  # done for the day
    with db.read() as conn:
        changes = read_changes(conn, tenant.id, after_seq=0, limit=10_000, segment_id=segment_id)
    refreshed_ids = {c.member_id for c in changes if c.cause == "refresh"}
    assert refreshed_ids == set(before) ^ set(after)
    assert {c.cause for c in changes} == {"build", "refresh"}


def test_one_pass_refreshes_every_time_dependent_segment_of_the_list(
    db: Database, settings: Settings, tenant: Tenant, joined: FieldDef, day_clock: MovingClock
) -> None:
    email_has_1 = {"kind": "field", "field": "system:email", "op": "contain", "value": "1@"}
    timed = {
        "today": condition_of(stored(joined, 0)),
        "last week": condition_of(stored(joined, 7)),
        "not today (a complement)": condition_of({"not": stored(joined, 0)}),
        "nested": condition_of(
            stored(joined, 1),
            condition_of(email_has_1, {"not": stored(joined, 3)}, relation="or"),
            relation="or",
        ),
    }
    ids = {name: add_stored_segment(db, tenant.id, c) for name, c in timed.items()}
    plain_id = add_stored_segment(db, tenant.id, condition_of(email_has_1))
    run_pending(db, settings)
    assert segment_row(db, ids["not today (a complement)"]).horizon > 0
    plain = segment_row(db, plain_id)
    assert not plain.time_dependent

    scans: list[str] = []

    def count_scans(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        if statement.startswith("INSERT INTO refresh_wanted"):
            scans.append(statement)

    day_clock.advance(days=1)
    sa.event.listen(db.write_engine, "before_cursor_execute", count_scans)
    try:
        assert refresh_pending(db, settings) == 1
    finally:
        sa.event.remove(db.write_engine, "before_cursor_execute", count_scans)

    assert len(scans) == 5  # one scan per chunk of members for all four segments
    (job,) = refresh_rows(db)
    assert job.processed == MEMBERS
    for segment_id in ids.values():
        assert_exact(db, tenant.id, segment_id, DAY + timedelta(days=1))
        assert segment_row(db, segment_id).exact_day == DAY + timedelta(days=1)
    untouched = segment_row(db, plain_id)
    assert (untouched.exact_at, untouched.exact_day) == (plain.exact_at, DAY)


def test_an_interrupted_refresh_resumes_from_its_cursor_and_ends_exact(
    db: Database, db_url: str, tenant: Tenant, joined: FieldDef, day_clock: MovingClock
) -> None:
    settings = settings_for(db_url, build_parallelism=1, lease_seconds=30)
    segment_id = add_stored_segment(db, tenant.id, condition_of(stored(joined, 2)))
    run_pending(db, settings)
    day_clock.advance(days=1)
    assert enqueue_due(db, clock.today(settings.tz)) == 1
    assert enqueue_due(db, clock.today(settings.tz)) == 0  # one job per list at a time
    claim = claim_refresh(db, "dies", settings.lease_seconds)
    assert claim is not None
    assert prepare(db, settings, claim) is Step.PROGRESS
    assert run_chunk(db, settings, claim, Conditions()) is Step.PROGRESS

    # Half-way, readers see the members before the cursor by the new day and the rest by the
    # previous one, with exact counts.
    cursor = refresh_rows(db)[0].cursor
    new, old = (expected(db, tenant.id, segment_id, DAY + timedelta(days=d)) for d in (1, 0))
    midway = [m for m in new if m <= cursor] + [m for m in old if m > cursor]
    assert held(db, segment_id) == midway
    assert_counted(db, tenant.id, segment_id, len(midway))
    assert claim_refresh(db, "survivor", settings.lease_seconds) is None  # the lease holds

    expire_lease(db, claim.job_id)
    assert refresh_pending(db, settings) == 1
    assert run_chunk(db, settings, claim, Conditions()) is Step.LOST  # the dead wakes: too late
    (job,) = refresh_rows(db)
    assert (job.state, job.attempts, job.processed) == ("done", 2, MEMBERS)
    assert_exact(db, tenant.id, segment_id, DAY + timedelta(days=1))


def test_a_refresh_chunk_that_outlives_its_lease_keeps_the_job(
    db: Database, db_url: str, tenant: Tenant, joined: FieldDef, day_clock: MovingClock
) -> None:
    # A lease shorter than any chunk of 400 members.
    settings = settings_for(db_url, build_parallelism=1, build_chunk_size=400, lease_seconds=0.001)
    segment_id = add_stored_segment(db, tenant.id, condition_of(stored(joined, 2)))
    run_pending(db, settings)
    day_clock.advance(days=1)
    assert enqueue_due(db, clock.today(settings.tz)) == 1
    claim = claim_refresh(db, "slow", settings.lease_seconds)
    assert claim is not None
    assert prepare(db, settings, claim) is Step.PROGRESS
    assert run_chunk(db, settings, claim, Conditions()) is Step.PROGRESS

    # The lease runs from the chunk's commit, as long as three such chunks.
    assert claim_refresh(db, "rival", settings.lease_seconds) is None
    assert run_refresh(db, settings, claim, lambda: False) is Step.DONE
    (job,) = refresh_rows(db)
    assert (job.state, job.attempts, job.lease_expiries) == ("done", 1, 0)
    assert_exact(db, tenant.id, segment_id, DAY + timedelta(days=1))


def test_a_refresh_handed_back_for_a_build_resumes_without_counting_an_attempt(
    db: Database, settings: Settings, tenant: Tenant, joined: FieldDef, day_clock: MovingClock
) -> None:
    segment_id = add_stored_segment(db, tenant.id, condition_of(stored(joined, 2)))
    run_pending(db, settings)
    day_clock.advance(days=1)
    enqueue_due(db, clock.today(settings.tz))
    claim = claim_refresh(db, "worker", settings.lease_seconds)
    assert claim is not None
    asked = iter([False, True])
    assert run_refresh(db, settings, claim, lambda: next(asked)) is None
    (job,) = refresh_rows(db)
    assert (job.state, job.cursor > 0, job.attempts) == ("queued", True, 0)

    assert refresh_pending(db, settings) == 1
    assert refresh_rows(db)[0].attempts == 1
    assert_exact(db, tenant.id, segment_id, DAY + timedelta(days=1))


def test_a_refresh_that_keeps_failing_fails_and_its_list_waits_for_the_next_day(
    db: Database, settings: Settings, tenant: Tenant, joined: FieldDef, day_clock: MovingClock
) -> None:
    segment_id = add_stored_segment(db, tenant.id, condition_of(stored(joined, 2)))
    run_pending(db, settings)
    day_clock.advance(days=1)
    assert enqueue_due(db, clock.today(settings.tz)) == 1
    with db.write() as conn:  # as if every worker that claimed it had died
        conn.execute(sa.update(schema.refresh_jobs).values(attempts=MAX_ATTEMPTS))
    assert refresh_pending(db, settings) == 1
    (job,) = refresh_rows(db)
    assert (job.state, job.day) == ("failed", DAY + timedelta(days=1))
    assert job.error.startswith(f"refresh failed after {MAX_ATTEMPTS} attempts")
    assert enqueue_due(db, clock.today(settings.tz)) == 0  # not again today
    assert_exact(db, tenant.id, segment_id, DAY)  # the last exact membership stays

    day_clock.advance(days=1)
    assert refresh_pending(db, settings) == 1
    assert refresh_rows(db)[-1].state == "done"
    assert_exact(db, tenant.id, segment_id, DAY + timedelta(days=2))


def test_a_missed_day_is_refreshed_when_the_worker_starts(
    db: Database, settings: Settings, tenant: Tenant, joined: FieldDef, day_clock: MovingClock
) -> None:
    segment_id = add_stored_segment(db, tenant.id, condition_of(stored(joined, 2)))
    run_pending(db, settings)
    day_clock.advance(days=3)  # the service was down over two day boundaries

    worker = Worker(db, settings)
    worker.start()
    try:
        wait_until(lambda: segment_row(db, segment_id).exact_day == DAY + timedelta(days=3))
    finally:
        worker.stop()
    assert_exact(db, tenant.id, segment_id, DAY + timedelta(days=3))
    assert [job.day for job in refresh_rows(db)] == [DAY + timedelta(days=3)]


def test_real_time_updates_after_the_boundary_count_from_the_new_day(
    db: Database, settings: Settings, tenant: Tenant, joined: FieldDef, day_clock: MovingClock
) -> None:
    segment_id = add_stored_segment(db, tenant.id, condition_of(stored(joined, 2)))
    run_pending(db, settings)
    first, second = member_ids(db)[:2]
    tomorrow = DAY + timedelta(days=1)
    set_joined(db, tenant.id, first, joined, tomorrow)  # read on DAY: not yet
    assert first not in held(db, segment_id)

    day_clock.advance(hours=1)  # past the boundary; no refresh has run
    set_joined(db, tenant.id, second, joined, tomorrow)  # read on the new day: in
    assert second in held(db, segment_id)
    assert first not in held(db, segment_id)  # unchanged members wait for the refresh

    refresh_pending(db, settings)
    assert first in assert_exact(db, tenant.id, segment_id, tomorrow)


def test_a_build_counts_every_chunk_from_the_day_it_started(
    db: Database, db_url: str, tenant: Tenant, joined: FieldDef, day_clock: MovingClock
) -> None:
    settings = settings_for(db_url, build_parallelism=1, lease_seconds=30)
    segment_id = add_stored_segment(db, tenant.id, condition_of(stored(joined, 2)))
    claim, plan = start_job(db, settings, owner="before midnight")
    assert run_build_chunk(db, settings, claim, plan) is Step.PROGRESS

    day_clock.advance(hours=1)  # midnight passes; the worker dies, another resumes the build
    with db.write() as conn:
        conn.execute(
            sa.update(schema.build_jobs)
            .where(schema.build_jobs.c.id == claim.job_id)
            .values(lease_expires_at=time.time() - 1)
        )
    resumed, plan = start_job(db, settings, owner="after midnight")
    assert plan.day == DAY
    while run_build_chunk(db, settings, resumed, plan) is Step.PROGRESS:
        pass
    assert_exact(db, tenant.id, segment_id, DAY)
    assert segment_row(db, segment_id).exact_day == DAY

    assert refresh_pending(db, settings) == 1  # it is due at once: the day moved on
    assert_exact(db, tenant.id, segment_id, DAY + timedelta(days=1))


def test_a_segment_rebuilt_during_a_refresh_is_left_to_its_build(
    db: Database, db_url: str, tenant: Tenant, joined: FieldDef, day_clock: MovingClock
) -> None:
    settings = settings_for(db_url, build_parallelism=1, lease_seconds=30)
    segment_id = add_stored_segment(db, tenant.id, condition_of(stored(joined, 2)))
    other_id = add_stored_segment(db, tenant.id, condition_of(stored(joined, 5)))
    run_pending(db, settings)
    with db.write() as conn:  # redefined before midnight: its build counts from DAY
        conn.execute(
            sa.update(schema.segments)
            .where(schema.segments.c.id == segment_id)
            .values(condition=json.dumps(condition_of({"not": stored(joined, 1)})))
        )
        enqueue_build(conn, tenant.id, segment_id)
    build, plan = start_job(db, settings, owner="builder")

    day_clock.advance(hours=1)  # the refresh of the new day starts with the old generation
    enqueue_due(db, clock.today(settings.tz))
    claim = claim_refresh(db, "refresher", settings.lease_seconds)
    assert claim is not None
    assert prepare(db, settings, claim) is Step.PROGRESS
    conditions = Conditions()
    assert run_chunk(db, settings, claim, conditions) is Step.PROGRESS
    while run_build_chunk(db, settings, build, plan) is Step.PROGRESS:
        pass  # ... and the build publishes the new one, exact for DAY, half-way through
    while run_chunk(db, settings, claim, conditions) is Step.PROGRESS:
        pass

    assert_exact(db, tenant.id, other_id, DAY + timedelta(days=1))
    assert_exact(db, tenant.id, segment_id, DAY)  # the refresh left it alone
    assert segment_row(db, segment_id).exact_day == DAY
    assert refresh_pending(db, settings) == 1  # so it is still due
    assert_exact(db, tenant.id, segment_id, DAY + timedelta(days=1))


def test_segments_say_whether_they_move_with_time_and_when_they_were_made_exact(
    db: Database, settings: Settings, tenant: Tenant, joined: FieldDef
) -> None:
    segment_id = add_stored_segment(db, tenant.id, condition_of(stored(joined, 2)))
    with db.read() as conn:
        fresh = get_segment(conn, tenant.id, segment_id)
    assert fresh is not None and (fresh.time_dependent, fresh.exact_at) == (True, None)
    run_pending(db, settings)
    with db.read() as conn:
        built = get_segment(conn, tenant.id, segment_id)
    assert built is not None and built.exact_at is not None

    email = {"kind": "field", "field": "system:email", "op": "contain", "value": "@"}
    with db.write() as conn:
        conn.execute(
            sa.update(schema.segments)
            .where(schema.segments.c.id == segment_id)
            .values(condition=json.dumps(condition_of(email)))
        )
        enqueue_build(conn, tenant.id, segment_id)
        redefined = get_segment(conn, tenant.id, segment_id)
    assert redefined is not None and not redefined.time_dependent


def test_builds_queued_together_mark_each_segment_as_one_build_would(
    db: Database, settings: Settings, tenant: Tenant, joined: FieldDef
) -> None:
    """An import queues every segment of its list at once: each is marked and queued as if
    queued alone, and the catalog's version moves, so real-time updates reload it."""
    email = {"kind": "field", "field": "system:email", "op": "contain", "value": "@"}
    moving = add_stored_segment(db, tenant.id, condition_of(stored(joined, 2)))
    still = add_stored_segment(db, tenant.id, condition_of(email))
    run_pending(db, settings)
    with db.write() as conn:
        before = _catalog_version(conn, tenant.id)
        enqueue_builds(conn, tenant.id, [moving, still])
        after = _catalog_version(conn, tenant.id)
        marked = [get_segment(conn, tenant.id, s) for s in (moving, still)]
        queued = conn.execute(
            sa.select(schema.build_jobs.c.segment_id)
            .where(schema.build_jobs.c.state == "queued")
            .order_by(schema.build_jobs.c.segment_id)
        ).scalars()
        assert sorted(queued) == sorted([moving, still])
    assert after != before
    assert [(s.time_dependent, s.status) for s in marked if s is not None] == [
        (True, SegmentStatus.BUILDING),
        (False, SegmentStatus.BUILDING),
    ]
    with db.write() as conn, pytest.raises(LookupError):
        enqueue_builds(conn, tenant.id, [still, "f" * 24])


def _catalog_version(conn: sa.Connection, tenant_id: int) -> int:
    query = sa.select(schema.tenants.c.catalog_version).where(schema.tenants.c.id == tenant_id)
    return int(conn.execute(query).scalar_one())
