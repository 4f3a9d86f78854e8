"""Builds and previews on the embedded analytics back-end, end to end: members written
through storage (so through the outbox), segments created through the service, the worker's
pending jobs run; the published membership equals what the SQL compiler selects, after a
change too, and a segment that refers to another reads its membership as published."""

from __future__ import annotations

import time
from datetime import UTC

import sqlalchemy as sa

from segmentd.analytics.full_load import current_load
from segmentd.jobs.analytics_source import analytics_source
from segmentd.jobs.build_queue import enqueue_build
from segmentd.jobs.build_worker import Worker, run_pending
from segmentd.services.segment_service import SegmentDraft, preview_count, remove_members
from segmentd.settings import Settings
from segmentd.storage import analytics_outbox as outbox
from segmentd.storage.db import Database
from segmentd.storage.schema import build_jobs
from segmentd.storage.tenants import create_tenant
from tests.conftest import AppServer, make_tenant
from tests.support.analytics_world import (
    NAMES,
    name_has,
    named_world,
    published,
    sql_selected,
    write_members,
)
from tests.support.factories import add_segment_row
from tests.support.stored_conditions import stored_condition


def test_builds_publish_what_the_sql_compiler_selects(
    outboxed: Database, settings: Settings
) -> None:
    db = outboxed
    tenant_id, segment_id = named_world(db)

    assert run_pending(db, settings) == 1
    expected = sql_selected(db, tenant_id, segment_id)
    assert expected and published(db, tenant_id, segment_id) == expected
    source = analytics_source(settings.analytics)
    assert source is not None
    assert current_load(source.target, tenant_id) > 0  # it was answered on ClickHouse
    with db.read() as conn:
        assert outbox.seqs_of(conn, tenant_id) == []  # and the copy was brought up first

    # A change, then a rebuild: the copy takes it before the build reads it.
    changed_at = int(time.time())
    write_members(db, tenant_id, {"m4@example.com": "Bran", "m0@example.com": "Zed"})
    with db.read() as conn:
        assert outbox.seqs_of(conn, tenant_id)
    with db.write() as conn:
        enqueue_build(conn, tenant_id, segment_id)
    assert run_pending(db, settings) == 1
    after = published(db, tenant_id, segment_id)
    assert after == sql_selected(db, tenant_id, segment_id)
    assert after != expected  # Bran joined, Zed (was Ann) left
    with db.read() as conn:  # each job recorded how fresh the copy it read was
        fresh = conn.execute(
            sa.select(build_jobs.c.analytics_fresh_as_of)
            .where(build_jobs.c.segment_id == segment_id)
            .order_by(build_jobs.c.id)
        ).scalars()
        first, second = list(fresh)
    assert first is not None and second is not None and second >= changed_at


def test_a_reference_reads_the_published_membership_and_previews_count(
    outboxed: Database, settings: Settings
) -> None:
    db = outboxed
    tenant_id, inner = named_world(db)
    assert run_pending(db, settings) == 1
    source = analytics_source(settings.analytics)
    assert source is not None
    # Loaded now, before the outer segment exists: its build must see the inner published.
    source.sync(db, tenant_id)
    with db.read() as conn:
        named = stored_condition(conn, tenant_id, name_has("n"))
    reference = {"kind": "segment", "segment": inner, "op": "not_in"}
    outer = add_segment_row(db, tenant_id, {**named, "items": [*named["items"], reference]})
    assert run_pending(db, settings) == 1
    assert published(db, tenant_id, outer) == sql_selected(db, tenant_id, outer)

    draft = SegmentDraft(segment_type=0, condition=name_has("a"), list_id=None)
    on_sql = preview_count(db, tenant_id, draft, UTC)
    assert on_sql == sum("a" in n.lower() for n in NAMES)
    assert preview_count(db, tenant_id, draft, UTC, source) == on_sql


def test_an_idle_worker_drains_the_outbox(outboxed: Database, settings: Settings) -> None:
    db = outboxed
    with db.write() as conn:
        tenant_id = create_tenant(conn, "acme")
    write_members(db, tenant_id, {"a@example.com": "Ann"})
    with db.read() as conn:
        assert outbox.seqs_of(conn, tenant_id)
    worker = Worker(db, settings)
    assert worker.work_once() is False  # nothing to build: it drained instead
    with db.read() as conn:
        assert outbox.seqs_of(conn, tenant_id) == []
    source = analytics_source(settings.analytics)
    assert source is not None and current_load(source.target, tenant_id) > 0


def test_the_preview_route_counts_on_the_back_end(
    db: Database, outboxed: Database, settings: Settings
) -> None:
    tenant = make_tenant(db)
    write_members(outboxed, tenant.id, {f"m{i}@example.com": n for i, n in enumerate(NAMES)})
    body = {"type": 0, "condition": name_has("a")}
    with AppServer(settings, start_worker=False) as app, app.client(auth=tenant.auth) as http:
        answer = http.post("/v1/segments/preview", json=body)
    assert answer.status_code == 200, answer.text
    assert answer.json()["count"] == sum("a" in n.lower() for n in NAMES)
    with db.read() as conn:  # the copy was brought up to date to answer it
        assert outbox.seqs_of(conn, tenant.id) == []


def test_a_rebuild_on_the_copy_keeps_out_a_member_removed_by_hand(
    outboxed: Database, settings: Settings
) -> None:
    db = outboxed
    tenant_id, segment_id = named_world(db)
    assert run_pending(db, settings) == 1
    chosen = sorted(published(db, tenant_id, segment_id))
    assert remove_members(db, tenant_id, segment_id, chosen[:1], UTC) == 1
    with db.write() as conn:
        enqueue_build(conn, tenant_id, segment_id)
    assert run_pending(db, settings) == 1
    assert published(db, tenant_id, segment_id) == set(chosen[1:])  # ClickHouse still selects it
