"""Old generations are deleted after the publish, in chunks, and never pile up (issue #5)."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from segmentd.jobs.build_queue import claim_job, enqueue_build, release
from segmentd.jobs.build_runner import run_chunk
from segmentd.jobs.build_steps import Step, prepare
from segmentd.jobs.build_worker import run_pending
from segmentd.membership.stale import drop_stale_generations, sweep_stale_generations
from segmentd.settings import Settings
from segmentd.storage import schema
from segmentd.storage.catalog import catalog_changed
from segmentd.storage.db import Database
from tests.conftest import Tenant
from tests.conftest import test_settings as settings_for
from tests.jobs.test_builds import (
    add_catalog,
    add_members,
    add_segment,
    field_condition,
    finish_job,
    published_members,
    segment_row,
    start_job,
    update_condition,
)
from tests.support.factories import number_of, rows_needed


@pytest.fixture
def settings(db_url: str) -> Settings:
    return settings_for(db_url)  # chunks of 100 members


@pytest.fixture
def acme(db: Database, tenant: Tenant) -> Tenant:
    add_catalog(db, tenant.id)
    add_members(db, tenant.id, 450)
    return tenant


def rows_by_generation(db: Database, segment_id: str) -> dict[int, int]:
    sm = schema.segment_members.c
    with db.read() as conn:
        rows = conn.execute(
            sa.select(sm.generation, sa.func.count())
            .where(sm.segment_number == number_of(segment_id))
            .group_by(sm.generation)
        )
        return {int(generation): int(count) for generation, count in rows}


def leave_stale_rows(db: Database, tenant_id: int, segment_id: str, generation: int) -> int:
    """Rows a cleanup cut short by a crash would leave: a copy of the published membership."""
    members = published_members(db, tenant_id, segment_id)
    with db.write() as conn:
        number = conn.execute(sa.select(number_of(segment_id))).scalar_one()
        conn.execute(
            sa.insert(schema.segment_members),
            [
                {
                    "tenant_id": tenant_id,
                    "segment_number": number,
                    "generation": generation,
                    "member_id": m,
                }
                for m in members
            ],
        )
    return len(members)


def published_segment(db: Database, settings: Settings, tenant: Tenant) -> str:
    segment_id = add_segment(db, tenant.id, field_condition("<", "60"))
    update_condition(db, tenant.id, segment_id, field_condition("<", "50"))
    run_pending(db, settings)
    assert segment_row(db, segment_id).generation == 2
    return segment_id


@pytest.mark.parametrize("limit", [0, 10_000])
def test_a_rebuild_leaves_only_the_published_generation(
    db: Database, settings: Settings, acme: Tenant, limit: int
) -> None:
    """Built as a new generation (an in-place limit of 0), or in place."""
    segment_id = published_segment(db, settings, acme)
    update_condition(db, acme.id, segment_id, field_condition(">=", "30"))
    run_pending(db, settings.model_copy(update={"rebuild_in_place_limit": limit}))
    published = 3 if limit == 0 else 2
    assert rows_by_generation(db, segment_id) == {published: rows_needed(db, segment_id)}


def test_the_old_generation_goes_in_chunks_of_its_own(
    db: Database, settings: Settings, acme: Tenant
) -> None:
    segment_id = published_segment(db, settings, acme)
    stale = leave_stale_rows(db, acme.id, segment_id, generation=1)
    commits: list[object] = []

    def count(connection: object) -> None:
        commits.append(connection)

    sa.event.listen(db.write_engine, "commit", count)
    try:
        assert drop_stale_generations(db, acme.id, segment_id, chunk=40) == stale
    finally:
        sa.event.remove(db.write_engine, "commit", count)
    assert stale > 80 and len(commits) == -(-stale // 40) + 1  # the last one finds nothing left
    assert set(rows_by_generation(db, segment_id)) == {2}


@pytest.mark.parametrize("finisher", ["idle worker", "next build"])
def test_an_interrupted_cleanup_is_finished(
    db: Database, db_url: str, settings: Settings, acme: Tenant, finisher: str
) -> None:
    segment_id = published_segment(db, settings, acme)
    leave_stale_rows(db, acme.id, segment_id, generation=1)
    if finisher == "idle worker":
        fresh = Database(db_url)  # a restarted worker: its first idle claim sweeps
        try:
            assert claim_job(fresh, "restarted", settings.lease_seconds) is None
        finally:
            fresh.dispose()
        assert rows_by_generation(db, segment_id) == {2: rows_needed(db, segment_id)}
    else:
        update_condition(db, acme.id, segment_id, field_condition("<", "40"))
        run_pending(db, settings)  # in place, then the stale rows deleted
        assert rows_by_generation(db, segment_id) == {2: rows_needed(db, segment_id)}


def test_the_sweep_spares_the_published_and_the_running_generations(
    db: Database, settings: Settings, acme: Tenant
) -> None:
    segment_id = published_segment(db, settings, acme)
    before = published_members(db, acme.id, segment_id)
    _enqueue(db, acme, segment_id)
    claim, plan = start_job(db, settings)
    assert run_chunk(db, settings, claim, plan) is Step.PROGRESS  # generation 3, superseded next
    _enqueue(db, acme, segment_id)
    live, live_plan = start_job(db, settings, owner="worker-b")
    assert run_chunk(db, settings, live, live_plan) is Step.PROGRESS  # generation 4
    leave_stale_rows(db, acme.id, segment_id, generation=1)
    assert set(rows_by_generation(db, segment_id)) == {1, 2, 3, 4}

    sweep_stale_generations(db)

    assert set(rows_by_generation(db, segment_id)) == {2, 4}
    assert published_members(db, acme.id, segment_id) == before
    assert finish_job(db, settings, live, live_plan) is Step.DONE
    assert set(rows_by_generation(db, segment_id)) == {4}


def test_a_failed_build_leaves_no_rows_behind(
    db: Database, settings: Settings, acme: Tenant
) -> None:
    condition = {"relation": "and", "items": [{"field_name": "tag", "op": "==", "value": "vip"}]}
    segment_id = add_segment(db, acme.id, condition)
    run_pending(db, settings)
    _enqueue(db, acme, segment_id)
    claim, plan = start_job(db, settings)
    assert run_chunk(db, settings, claim, plan) is Step.PROGRESS
    release(db, claim)  # stopped mid-build; then the tag goes away
    with db.write() as conn:
        conn.execute(sa.delete(schema.tags).where(schema.tags.c.name == "vip"))
        catalog_changed(conn, acme.id)

    again = claim_job(db, "worker-b", settings.lease_seconds)
    assert again is not None and prepare(db, settings, again) is Step.FAILED

    assert segment_row(db, segment_id).status == -1
    assert set(rows_by_generation(db, segment_id)) == {1}


def _enqueue(db: Database, tenant: Tenant, segment_id: str) -> None:
    with db.write() as conn:
        enqueue_build(conn, tenant.id, segment_id)
