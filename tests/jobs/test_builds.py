"""Durable segment builds on both databases: chunks, leases, generations and failures."""

from __future__ import annotations

import json
import time
from collections.abc import Iterable
from typing import Any

import pytest
import sqlalchemy as sa

from segmentd.domain.emails import email_domain, email_key
from segmentd.domain.evaluator import evaluate
from segmentd.domain.validation import SegmentType, parse_condition
from segmentd.jobs.build_plan import Plan
from segmentd.jobs.build_queue import (
    MAX_ATTEMPTS,
    Claim,
    claim_job,
    claim_jobs,
    enqueue_build,
    enqueue_builds,
    release,
)
from segmentd.jobs.build_runner import run_chunk, run_chunks
from segmentd.jobs.build_steps import Step, prepare
from segmentd.jobs.build_worker import Worker, run_pending
from segmentd.services.segment_service import insert_segment
from segmentd.settings import Settings
from segmentd.storage import schema
from segmentd.storage.catalog import catalog_changed, load_catalog
from segmentd.storage.contacts import load_contacts
from segmentd.storage.db import Database
from segmentd.storage.tenants import default_list_id
from segmentd.timefmt import now
from tests.conftest import Tenant, make_tenant, wait_until
from tests.conftest import test_settings as settings_for
from tests.support.factories import add_list, add_segment_row, held, number_of, rows_needed
from tests.support.stored_conditions import stored_condition

AGE_SLOT = 1
CAMPAIGN_ID = 7


# ---------------------------------------------------------------------------------------------
# Helpers: data goes straight into the tables, as ingestion would leave it.


def add_catalog(db: Database, tenant_id: int) -> None:
    """An Age number field, tags vip/news, and a completed campaign."""
    with db.write() as conn:
        conn.execute(
            sa.insert(schema.fields).values(
                tenant_id=tenant_id,
                name="Age",
                name_key="age",
                field_type=1,
                format="0",
                visible=True,
                slot=AGE_SLOT,
                created_at=now(),
            )
        )
        for name in ("vip", "news"):
            conn.execute(
                sa.insert(schema.tags).values(tenant_id=tenant_id, name=name, created_at=now())
            )
        conn.execute(
            sa.insert(schema.campaigns).values(
                id=CAMPAIGN_ID + tenant_id * 1000,
                tenant_id=tenant_id,
                name="Spring",
                status="completed",
                created_at=now(),
                updated_at=now(),
            )
        )
        catalog_changed(conn, tenant_id)  # as the storage functions do


def add_members(db: Database, tenant_id: int, count: int, start: int = 0) -> list[int]:
    """``count`` members; member i has Age i % 90, tag vip when i % 3 == 0, news when i % 5 == 0,
    and campaign activity cycling through none / sent / opened / clicked."""
    with db.write() as conn:
        list_id = default_list_id(conn, tenant_id)
        rows = []
        for i in range(start, start + count):
            email = f"user{i}@example{i % 4}.com"
            rows.append(
                {
                    "tenant_id": tenant_id,
                    "list_id": list_id,
                    "email": email,
                    "email_key": email_key(email),
                    "domain": email_domain(email),
                    "name": f"User {i}",
                    "created_at": now(),
                    "updated_at": now(),
                    f"n{AGE_SLOT}": float(i % 90),
                }
            )
        conn.execute(sa.insert(schema.members), rows)
        ids = list(
            conn.execute(
                sa.select(schema.members.c.id)
                .where(schema.members.c.tenant_id == tenant_id)
                .order_by(schema.members.c.id)
            ).scalars()
        )[-count:]
        _add_tags_and_activity(conn, tenant_id, ids, start)
    return ids


def _add_tags_and_activity(conn: sa.Connection, tenant_id: int, ids: list[int], start: int) -> None:
    tag_ids = dict(
        conn.execute(
            sa.select(schema.tags.c.name, schema.tags.c.id).where(
                schema.tags.c.tenant_id == tenant_id
            )
        ).all()
    )
    tag_rows, activity_rows = [], []
    for i, member_id in enumerate(ids, start):
        for tag, every in (("vip", 3), ("news", 5)):
            if i % every == 0:
                tag_rows.append(
                    {"tenant_id": tenant_id, "member_id": member_id, "tag_id": tag_ids[tag]}
                )
        stage = i % 4  # 0 nothing, 1 sent, 2 opened, 3 clicked
        if stage:
            activity_rows.append(
                {
                    "tenant_id": tenant_id,
                    "campaign_id": CAMPAIGN_ID + tenant_id * 1000,
                    "member_id": member_id,
                    "sent_at": 1,
                    "opened_at": 2 if stage >= 2 else None,
                    "clicked_at": 3 if stage == 3 else None,
                }
            )
    if tag_rows:
        conn.execute(sa.insert(schema.member_tags), tag_rows)
    if activity_rows:
        conn.execute(sa.insert(schema.campaign_activity), activity_rows)


def field_condition(op: str, value: str, field: str = "Age") -> dict[str, Any]:
    return {"relation": "and", "items": [{"field_name": field, "op": op, "value": value}]}


def add_segment(
    db: Database, tenant_id: int, condition: dict[str, Any], segment_type: int = 0
) -> str:
    """A segments row and its first build job, as the create endpoint leaves them."""
    with db.read() as conn:
        stored = stored_condition(conn, tenant_id, condition, segment_type)
    return add_segment_row(db, tenant_id, stored, segment_type=segment_type)


def update_condition(
    db: Database, tenant_id: int, segment_id: str, condition: dict[str, Any]
) -> None:
    with db.write() as conn:
        conn.execute(
            sa.update(schema.segments)
            .where(schema.segments.c.id == segment_id)
            .values(condition=json.dumps(stored_condition(conn, tenant_id, condition)))
        )
        enqueue_build(conn, tenant_id, segment_id)


def segment_row(db: Database, segment_id: str) -> Any:
    with db.read() as conn:
        return conn.execute(
            sa.select(schema.segments).where(schema.segments.c.id == segment_id)
        ).one()


def job_rows(db: Database, segment_id: str) -> list[Any]:
    with db.read() as conn:
        return list(
            conn.execute(
                sa.select(schema.build_jobs)
                .where(schema.build_jobs.c.segment_id == segment_id)
                .order_by(schema.build_jobs.c.id)
            )
        )


def published_members(db: Database, tenant_id: int, segment_id: str) -> list[int]:
    """What readers see: the members the published generation holds."""
    return held(db, segment_id)


def stored_rows(db: Database, segment_id: str) -> int:
    """Every membership row of the segment, whatever its generation."""
    sm = schema.segment_members.c
    with db.read() as conn:
        return int(
            conn.execute(
                sa.select(sa.func.count()).where(sm.segment_number == number_of(segment_id))
            ).scalar_one()
        )


def expected_members(
    db: Database,
    tenant_id: int,
    condition: dict[str, Any],
    segment_type: int = 0,
    excluded: Iterable[int] = (),
) -> list[int]:
    """The in-memory evaluator's answer over the tenant's default list."""
    settings = Settings()
    with db.read() as conn:
        catalog = load_catalog(conn, tenant_id)
        parsed = parse_condition(condition, catalog, SegmentType(segment_type), settings.tz)
        ids = conn.execute(
            sa.select(schema.members.c.id).where(
                schema.members.c.tenant_id == tenant_id,
                schema.members.c.list_id == default_list_id(conn, tenant_id),
            )
        ).scalars()
        contacts = load_contacts(conn, tenant_id, ids, catalog)
    skip = set(excluded)
    return sorted(i for i, c in contacts.items() if evaluate(parsed, c) and i not in skip)


def start_job(db: Database, settings: Settings, owner: str = "worker-a") -> tuple[Claim, Plan]:
    claim = claim_job(db, owner, settings.lease_seconds)
    assert claim is not None
    plan = prepare(db, settings, claim)
    assert isinstance(plan, Plan)
    return claim, plan


def finish_job(db: Database, settings: Settings, claim: Claim, plan: Plan) -> Step:
    while (step := run_chunk(db, settings, claim, plan)) is Step.PROGRESS:
        pass
    return step


@pytest.fixture
def settings(db_url: str) -> Settings:
    # Chunks of 100 members, one at a time: the steps below count them
    # (test_chunks_filled_side_by_side_commit_together covers several at once).
    return settings_for(db_url, build_parallelism=1)


@pytest.fixture
def acme(db: Database, tenant: Tenant) -> Tenant:
    add_catalog(db, tenant.id)
    add_members(db, tenant.id, 450)
    return tenant


# ---------------------------------------------------------------------------------------------
# Results


CONDITIONS = {
    "number": (0, field_condition(">=", "45")),
    "text": (0, field_condition("contain", "example1", "Email")),
    "tag": (0, {"relation": "and", "items": [{"field_name": "tag", "op": "==", "value": "vip"}]}),
    "not tag or young": (
        0,
        {
            "relation": "or",
            "items": [
                {"field_name": "tag", "op": "!=", "value": "news"},
                {"field_name": "Age", "op": "<", "value": "10"},
            ],
        },
    ),
    "campaign open": (1, "open"),
    "campaign notsent": (1, "notsent"),
    "campaign unclick": (1, "unclick"),
}


def _campaign_condition(tenant_id: int, activity: str) -> dict[str, Any]:
    item = {
        "field_name": "campaign",
        "op": "==",
        "value": activity,
        "campaign_id": CAMPAIGN_ID + tenant_id * 1000,
    }
    return {"relation": "and", "items": [item]}


@pytest.mark.parametrize("name", CONDITIONS)
def test_build_matches_the_evaluator(
    db: Database, settings: Settings, acme: Tenant, name: str
) -> None:
    segment_type, condition = CONDITIONS[name]
    if segment_type == 1:
        condition = _campaign_condition(acme.id, str(condition))
    # Another tenant's members match too, but live in another list.
    other = make_tenant(db, "other")
    add_catalog(db, other.id)
    add_members(db, other.id, 120, start=450)
    assert isinstance(condition, dict)
    segment_id = add_segment(db, acme.id, condition, segment_type)

    assert run_pending(db, settings) == 1

    expected = expected_members(db, acme.id, condition, segment_type)
    assert 0 < len(expected) < 450
    assert published_members(db, acme.id, segment_id) == expected
    segment = segment_row(db, segment_id)
    assert (segment.status, segment.percent, segment.member_total) == (2, 100, len(expected))
    assert segment.built_at is not None and segment.error is None
    assert [job.state for job in job_rows(db, segment_id)] == ["done"]


def test_an_empty_list_builds_an_empty_segment(
    db: Database, settings: Settings, tenant: Tenant
) -> None:
    add_catalog(db, tenant.id)
    segment_id = add_segment(db, tenant.id, field_condition(">", "1"))
    assert run_pending(db, settings) == 1
    segment = segment_row(db, segment_id)
    assert (segment.status, segment.percent, segment.member_total) == (2, 100, 0)


def test_each_chunk_commits_its_progress(db: Database, settings: Settings, acme: Tenant) -> None:
    condition = field_condition("<", "30")
    segment_id = add_segment(db, acme.id, condition)
    claim, plan = start_job(db, settings)
    assert job_rows(db, segment_id)[0].total == 450

    percents, cursors = [], []
    while (step := run_chunk(db, settings, claim, plan)) is Step.PROGRESS:
        segment, job = segment_row(db, segment_id), job_rows(db, segment_id)[0]
        assert segment.status == 1
        percents.append(segment.percent)
        cursors.append(job.cursor)
        assert job.processed == 100 * len(percents)

    assert step is Step.DONE
    assert percents == [22, 44, 66, 88]
    assert cursors == sorted(cursors) and len(set(cursors)) == 4
    assert segment_row(db, segment_id).percent == 100
    assert published_members(db, acme.id, segment_id) == expected_members(db, acme.id, condition)


@pytest.mark.parametrize("parts", [2, 3])
def test_chunks_filled_side_by_side_commit_together(
    db: Database, settings: Settings, acme: Tenant, parts: int
) -> None:
    """A step fills ``parts`` chunks side by side: on PostgreSQL on their own connections, on
    SQLite evaluated on reader connections and stored by the writer."""
    settings = settings.model_copy(update={"build_parallelism": parts})
    per_step = 100 * parts
    condition = field_condition("<", "30")
    segment_id = add_segment(db, acme.id, condition)
    claim, plan = start_job(db, settings)
    cursors = []
    while (step := run_chunk(db, settings, claim, plan)) is Step.PROGRESS:
        job = job_rows(db, segment_id)[0]
        assert job.processed == per_step * (len(cursors) + 1)
        cursors.append(job.cursor)
    assert step is Step.DONE
    assert len(cursors) == (450 - 1) // per_step
    assert published_members(db, acme.id, segment_id) == expected_members(db, acme.id, condition)
    assert segment_row(db, segment_id).member_total == len(expected_members(db, acme.id, condition))


@pytest.mark.parametrize("writer", ["same pool", "another connection"])
def test_members_changed_between_steps_are_built_as_they_are_now(
    db: Database, db_url: str, settings: Settings, acme: Tenant, writer: str
) -> None:
    """Ranges a step evaluated ahead for the next one (SQLite) are dropped when anything
    commits in between: through the same pool, or on a connection of its own."""
    settings = settings.model_copy(update={"build_parallelism": 2})
    condition = field_condition("<", "30")
    segment_id = add_segment(db, acme.id, condition)
    claim, plan = start_job(db, settings)
    assert run_chunk(db, settings, claim, plan) is Step.PROGRESS
    cursor = job_rows(db, segment_id)[0].cursor
    other = db if writer == "same pool" else Database(db_url)
    m = schema.members.c
    try:
        with other.write() as conn:  # the next step's members, all matching now
            conn.execute(
                sa.update(schema.members)
                .where(m.tenant_id == acme.id, m.id > cursor)
                .values({f"n{AGE_SLOT}": 1.0})
            )
    finally:
        if other is not db:
            other.dispose()
    assert finish_job(db, settings, claim, plan) is Step.DONE
    want = expected_members(db, acme.id, condition)
    assert all(i in want for i in range(cursor + 1, cursor + 201))  # were mostly not
    assert published_members(db, acme.id, segment_id) == want


def test_a_repeated_chunk_leaves_no_duplicates(
    db: Database, settings: Settings, acme: Tenant
) -> None:
    condition = field_condition(">", "20")
    segment_id = add_segment(db, acme.id, condition)
    claim, plan = start_job(db, settings)
    for _ in range(3):
        assert run_chunk(db, settings, claim, plan) is Step.PROGRESS
    # As if the last commits were replayed: the cursor goes back, the rows stay.
    with db.write() as conn:
        conn.execute(
            sa.update(schema.build_jobs)
            .where(schema.build_jobs.c.id == claim.job_id)
            .values(cursor=0, processed=0)
        )

    assert finish_job(db, settings, claim, plan) is Step.DONE

    expected = expected_members(db, acme.id, condition)
    assert published_members(db, acme.id, segment_id) == expected
    assert len(expected) == segment_row(db, segment_id).member_total
    assert stored_rows(db, segment_id) == rows_needed(db, segment_id)


def test_readers_see_the_previous_membership_until_the_rebuild_is_published(
    db: Database, settings: Settings, acme: Tenant
) -> None:
    old, new = field_condition("<", "30"), field_condition(">=", "60")
    segment_id = add_segment(db, acme.id, old)
    run_pending(db, settings)
    before = published_members(db, acme.id, segment_id)

    update_condition(db, acme.id, segment_id, new)
    assert segment_row(db, segment_id).status == 1
    claim, plan = start_job(db, settings)
    for _ in range(2):
        assert run_chunk(db, settings, claim, plan) is Step.PROGRESS
        assert published_members(db, acme.id, segment_id) == before
        assert segment_row(db, segment_id).member_total == len(before)

    assert finish_job(db, settings, claim, plan) is Step.DONE
    after = published_members(db, acme.id, segment_id)
    assert after == expected_members(db, acme.id, new) != before
    assert stored_rows(db, segment_id) == rows_needed(db, segment_id)  # the old one is gone


def test_generations_only_grow(db: Database, acme: Tenant) -> None:
    segment_id = add_segment(db, acme.id, field_condition(">", "1"))
    for _ in range(3):
        update_condition(db, acme.id, segment_id, field_condition(">", "2"))
    jobs = job_rows(db, segment_id)
    assert [job.generation for job in jobs] == [1, 2, 3, 4]
    assert [job.state for job in jobs] == ["superseded"] * 3 + ["queued"]


def test_an_expired_lease_is_reclaimed_and_the_build_finishes(
    db: Database, db_url: str, acme: Tenant
) -> None:
    lease = settings_for(db_url, lease_seconds=30)
    condition = field_condition("!=", "5")
    segment_id = add_segment(db, acme.id, condition)
    claim, plan = start_job(db, lease, owner="dies")
    assert run_chunk(db, lease, claim, plan) is Step.PROGRESS
    assert claim_job(db, "survivor", lease.lease_seconds) is None  # the lease still holds

    # The first worker died without a word, and its lease ran out (set, not slept: a busy
    # machine would make any short lease run out early).
    with db.write() as conn:
        conn.execute(
            sa.update(schema.build_jobs)
            .where(schema.build_jobs.c.id == claim.job_id)
            .values(lease_expires_at=time.time() - 1)
        )
    assert run_pending(db, lease) == 1

    assert run_chunk(db, lease, claim, plan) is Step.LOST  # the dead worker wakes up: too late
    job = job_rows(db, segment_id)[0]
    assert (job.state, job.attempts) == ("done", 2)
    assert published_members(db, acme.id, segment_id) == expected_members(db, acme.id, condition)


def test_a_superseded_job_never_publishes(db: Database, settings: Settings, acme: Tenant) -> None:
    first, second = field_condition("<", "30"), field_condition(">=", "60")
    segment_id = add_segment(db, acme.id, first)
    claim, plan = start_job(db, settings)
    assert run_chunk(db, settings, claim, plan) is Step.PROGRESS

    update_condition(db, acme.id, segment_id, second)
    assert run_chunk(db, settings, claim, plan) is Step.LOST
    segment = segment_row(db, segment_id)
    assert (segment.generation, segment.status) == (0, 1)

    assert run_pending(db, settings) == 1
    assert published_members(db, acme.id, segment_id) == expected_members(db, acme.id, second)
    assert [job.state for job in job_rows(db, segment_id)] == ["superseded", "done"]
    assert stored_rows(db, segment_id) == rows_needed(db, segment_id)


def test_several_segments_queue_their_builds_at_once(
    db: Database, settings: Settings, acme: Tenant
) -> None:
    young, old = field_condition("<", "30"), field_condition(">=", "60")
    built, fresh = add_segment(db, acme.id, young), add_segment(db, acme.id, old)
    static = add_segment(db, acme.id, young)
    with db.write() as conn:
        conn.execute(
            sa.update(schema.segments)
            .where(schema.segments.c.id == static)
            .values(kind="static", status=2)
        )
        conn.execute(sa.delete(schema.build_jobs).where(schema.build_jobs.c.segment_id == static))
    assert run_pending(db, settings) == 2
    enqueue_build_with(db, acme.id, [fresh])  # a queued build for the next one to supersede

    enqueue_build_with(db, acme.id, [static, fresh, built])

    assert [(j.state, j.generation) for j in job_rows(db, built)] == [("done", 1), ("queued", 2)]
    assert [(j.state, j.generation) for j in job_rows(db, fresh)] == [
        ("done", 1),
        ("superseded", 2),
        ("queued", 3),
    ]
    assert job_rows(db, static) == []
    assert [segment_row(db, s).status for s in (built, fresh, static)] == [1, 1, 2]
    assert run_pending(db, settings) == 2
    assert published_members(db, acme.id, fresh) == expected_members(db, acme.id, old)
    assert published_members(db, acme.id, built) == expected_members(db, acme.id, young)


def test_queueing_an_unknown_segment_queues_nothing(
    db: Database, settings: Settings, acme: Tenant
) -> None:
    segment_id = add_segment(db, acme.id, field_condition("<", "30"))
    assert run_pending(db, settings) == 1
    with pytest.raises(LookupError, match="no-such-segment"):
        enqueue_build_with(db, acme.id, [segment_id, "no-such-segment"])
    assert [job.state for job in job_rows(db, segment_id)] == ["done"]
    assert segment_row(db, segment_id).status == 2


def enqueue_build_with(db: Database, tenant_id: int, segment_ids: list[str]) -> None:
    with db.write() as conn:
        enqueue_builds(conn, tenant_id, segment_ids)


def test_excluded_members_stay_out(db: Database, settings: Settings, acme: Tenant) -> None:
    condition = field_condition("<", "50")
    segment_id = add_segment(db, acme.id, condition)
    removed = expected_members(db, acme.id, condition)[::7]
    with db.write() as conn:
        conn.execute(
            sa.insert(schema.segment_exclusions),
            [{"tenant_id": acme.id, "segment_id": segment_id, "member_id": m} for m in removed],
        )
    run_pending(db, settings)
    members = published_members(db, acme.id, segment_id)
    assert members == expected_members(db, acme.id, condition, excluded=removed)
    assert not set(members) & set(removed)


def test_a_condition_that_no_longer_validates_fails_and_keeps_the_old_membership(
    db: Database, settings: Settings, acme: Tenant
) -> None:
    condition = {"relation": "and", "items": [{"field_name": "tag", "op": "==", "value": "vip"}]}
    segment_id = add_segment(db, acme.id, condition)
    run_pending(db, settings)
    before = published_members(db, acme.id, segment_id)
    with db.write() as conn:
        conn.execute(sa.delete(schema.tags).where(schema.tags.c.name == "vip"))
        catalog_changed(conn, acme.id)
        enqueue_build(conn, acme.id, segment_id)

    assert run_pending(db, settings) == 1

    segment = segment_row(db, segment_id)
    assert segment.status == -1
    assert "[condition.items[0].tag]:tag" in segment.error
    assert "does not exist" in segment.error
    assert published_members(db, acme.id, segment_id) == before
    assert [job.state for job in job_rows(db, segment_id)] == ["done", "failed"]


def test_a_job_that_keeps_crashing_fails_after_bounded_attempts(
    db: Database, settings: Settings, acme: Tenant
) -> None:
    segment_id = add_segment(db, acme.id, field_condition(">", "1"))
    # A corrupt row the catalog cannot load: every attempt errors out.
    with db.write() as conn:
        conn.execute(sa.update(schema.campaigns).values(status="bogus"))
        catalog_changed(conn, acme.id)

    assert run_pending(db, settings) == 1

    job = job_rows(db, segment_id)[0]
    assert (job.state, job.attempts) == ("failed", MAX_ATTEMPTS + 1)
    segment = segment_row(db, segment_id)
    assert segment.status == -1
    assert f"after {MAX_ATTEMPTS} attempts" in segment.error and "bogus" in segment.error


def test_a_released_job_resumes_from_its_cursor(
    db: Database, settings: Settings, acme: Tenant
) -> None:
    condition = field_condition(">=", "10")
    segment_id = add_segment(db, acme.id, condition)
    claim, plan = start_job(db, settings)
    assert run_chunk(db, settings, claim, plan) is Step.PROGRESS
    release(db, claim)
    job = job_rows(db, segment_id)[0]
    assert (job.state, job.attempts, job.processed) == ("queued", 0, 100)

    resumed, _ = start_job(db, settings, owner="worker-b")
    assert job_rows(db, segment_id)[0].total == 450  # counted from the saved progress
    assert run_chunk(db, settings, claim, plan) is Step.LOST
    assert finish_job(db, settings, resumed, plan) is Step.DONE
    assert published_members(db, acme.id, segment_id) == expected_members(db, acme.id, condition)


def test_the_worker_thread_builds_and_stops_promptly(
    db: Database, settings: Settings, acme: Tenant
) -> None:
    worker = Worker(db, settings)
    worker.start()
    try:
        condition = field_condition("<=", "42")
        segment_id = add_segment(db, acme.id, condition)
        wait_until(lambda: segment_row(db, segment_id).status == 2, timeout=30)
        assert published_members(db, acme.id, segment_id) == expected_members(
            db, acme.id, condition
        )
    finally:
        started = time.monotonic()
        worker.stop()
        assert time.monotonic() - started < 2


def test_a_build_queued_in_this_process_wakes_the_sleeping_worker(
    db_url: str, db: Database, acme: Tenant
) -> None:
    """With a poll of ten minutes, only the wake-up sent after the segment's commit can
    start its build within the wait below."""
    worker = Worker(db, settings_for(db_url, worker_poll_seconds=600))
    worker.start()
    try:
        time.sleep(0.5)  # its first pass finds nothing; then it sleeps
        segment_id = add_segment(db, acme.id, field_condition("<=", "42"))
        wait_until(lambda: segment_row(db, segment_id).status == 2, timeout=60)
    finally:
        worker.stop()


def test_two_workers_share_the_queue(db: Database, settings: Settings, acme: Tenant) -> None:
    conditions = [field_condition(">", str(age)) for age in (10, 30, 50, 70)]
    segment_ids = [add_segment(db, acme.id, condition) for condition in conditions]
    workers = [Worker(db, settings), Worker(db, settings)]
    for worker in workers:
        worker.start()
    try:
        wait_until(lambda: all(segment_row(db, s).status == 2 for s in segment_ids), timeout=30)
    finally:
        for worker in workers:
            worker.stop()
    for segment_id, condition in zip(segment_ids, conditions, strict=True):
        assert published_members(db, acme.id, segment_id) == expected_members(
            db, acme.id, condition
        )
        assert [job.state for job in job_rows(db, segment_id)] == ["done"]


def test_fresh_builds_of_one_list_share_each_pass(
    db: Database, settings: Settings, acme: Tenant
) -> None:
    """Segments saved together are claimed together and built chunk by chunk in lockstep."""
    conditions = [
        field_condition(op, value) for op, value in (("<", "30"), (">=", "40"), ("!=", "25"))
    ]
    ids = [add_segment(db, acme.id, condition) for condition in conditions]
    other_list = add_list(db, acme.id)
    with db.write() as conn:  # a build of another list is not part of the pass
        other = insert_segment(
            conn,
            acme.id,
            list_id=other_list,
            name="o",
            segment_type=0,
            condition=stored_condition(conn, acme.id, conditions[0]),
        )
    claims = claim_jobs(db, "worker-a", settings.lease_seconds, 8)
    assert sorted(claim.segment_id for claim in claims) == sorted(ids)
    work = []
    for claim in claims:
        plan = prepare(db, settings, claim)
        assert isinstance(plan, Plan)
        work.append((claim, plan))
    steps = run_chunks(db, settings, work)
    assert steps == [Step.PROGRESS] * 3
    assert len({job_rows(db, segment_id)[0].cursor for segment_id in ids}) == 1
    while Step.PROGRESS in (steps := run_chunks(db, settings, work)):
        pass
    assert steps == [Step.DONE] * 3
    for segment_id, condition in zip(ids, conditions, strict=True):
        expected = expected_members(db, acme.id, condition)
        assert published_members(db, acme.id, segment_id) == expected
        assert segment_row(db, segment_id).member_total == len(expected)
    assert run_pending(db, settings) == 1  # then the other list's build, alone
    assert segment_row(db, other).status == 2


def test_a_resumed_build_runs_alone(db: Database, settings: Settings, acme: Tenant) -> None:
    first = add_segment(db, acme.id, field_condition("<", "30"))
    claim, plan = start_job(db, settings)
    assert run_chunk(db, settings, claim, plan) is Step.PROGRESS
    release(db, claim)  # a graceful stop: the job resumes from its cursor
    add_segment(db, acme.id, field_condition(">", "30"))
    claims = claim_jobs(db, "worker-b", settings.lease_seconds, 8)
    assert [c.segment_id for c in claims] == [first]
