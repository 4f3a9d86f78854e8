"""Rebuilds in place on the analytics back-end, as the tests see them: a segment built once,
members changed behind its back (through storage, so through the outbox but not the
real-time path), then rebuilt: the published generation stays, only who entered and left is
written, and the history records exactly them. Members changed while the rebuild runs (after
its sync, before its query) must be answered as the system of record holds them. Shared by
the embedded and the cluster tests."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC

import pytest
import sqlalchemy as sa

from segmentd.analytics.clickhouse_schema import SEGMENT_MEMBERS
from segmentd.analytics.read_point import read_point
from segmentd.jobs.analytics_source import AnalyticsSource, Synced, analytics_source
from segmentd.jobs.build_queue import enqueue_build
from segmentd.jobs.build_worker import run_pending
from segmentd.membership import read_changes
from segmentd.services.segment_service import remove_members
from segmentd.settings import Settings
from segmentd.storage.db import Database
from segmentd.storage.schema import build_jobs, members, segments
from tests.support.analytics_world import (
    add_segment,
    name_has,
    named_world,
    published,
    sql_selected,
    write_members,
)


def segment_row(db: Database, tenant_id: int, segment_id: str) -> sa.Row[tuple]:
    with db.read() as conn:
        s = segments.c
        return conn.execute(
            sa.select(s.generation, s.horizon, s.member_total, s.status).where(
                s.tenant_id == tenant_id, s.id == segment_id
            )
        ).one()


def member_id(db: Database, tenant_id: int, email: str) -> int:
    with db.read() as conn:
        m = members.c
        found = sa.select(m.id).where(m.tenant_id == tenant_id, m.email == email)
        return int(conn.execute(found).scalar_one())


def moved_by_builds(db: Database, tenant_id: int, segment_id: str) -> dict[int, list[str]]:
    """{member id: its changes with the cause "build", in order}."""
    with db.read() as conn:
        changes = read_changes(conn, tenant_id, after_seq=0, limit=10_000, segment_id=segment_id)
    found: dict[int, list[str]] = {}
    for change in changes:
        if change.cause == "build":
            found.setdefault(change.member_id, []).append(change.change)
    return found


def copied(source: AnalyticsSource, tenant_id: int, segment_id: str) -> set[int]:
    """The members of the segment's newest finished copy on ClickHouse."""
    target = source.target
    copy = read_point(target.engine, target.database, tenant_id).copies[segment_id]
    rows = target.engine.rows(
        f"SELECT member_id FROM {target.database}.{SEGMENT_MEMBERS} WHERE tenant_id = "
        f"{int(tenant_id)} AND segment_id = {{s:String}} AND copy_id = {int(copy.copy_id)}",
        {"s": segment_id},
    )
    return {int(row[0]) for row in rows}


def assert_copy_current(db: Database, settings: Settings, tenant_id: int, segment_id: str) -> None:
    """The rebuild left the segment's copy as published: the next sync copies nothing."""
    source = analytics_source(settings.analytics)
    assert source is not None
    assert copied(source, tenant_id, segment_id) == published(db, tenant_id, segment_id)
    assert source.sync(db, tenant_id, frozenset({segment_id})).copied == ()


def rebuild(db: Database, settings: Settings, tenant_id: int, segment_id: str) -> None:
    with db.write() as conn:
        enqueue_build(conn, tenant_id, segment_id)
    assert run_pending(db, settings) >= 1


def assert_rebuilt_in_place(
    db: Database,
    tenant_id: int,
    segment_id: str,
    before: sa.Row[tuple],
    removed: frozenset[int] = frozenset(),
) -> None:
    """The published generation and its form stayed; its members (what the SQL compiler
    selects, less those ``removed`` by hand) and its count are exact."""
    after = segment_row(db, tenant_id, segment_id)
    assert (after.generation, after.horizon) == (before.generation, before.horizon)
    expected = sql_selected(db, tenant_id, segment_id) - removed
    assert published(db, tenant_id, segment_id) == expected
    assert after.member_total == len(expected)
    with db.read() as conn:
        job = conn.execute(
            sa.select(build_jobs.c.state, build_jobs.c.analytics_fresh_as_of)
            .where(build_jobs.c.segment_id == segment_id)
            .order_by(build_jobs.c.id.desc())
            .limit(1)
        ).one()
    assert job.state == "done" and job.analytics_fresh_as_of is not None


def entered_and_left_applied_exactly(db: Database, settings: Settings) -> None:
    """Two members renamed behind the segment's back: the rebuild writes Bran entering and
    Zed (was Ann) leaving into the published generation, and the history says so."""
    tenant_id, segment_id = named_world(db)
    assert run_pending(db, settings) == 1
    first = published(db, tenant_id, segment_id)
    before = segment_row(db, tenant_id, segment_id)
    write_members(db, tenant_id, {"m4@example.com": "Bran", "m0@example.com": "Zed"})
    bran, zed = (
        member_id(db, tenant_id, "m4@example.com"),
        member_id(db, tenant_id, "m0@example.com"),
    )
    built = moved_by_builds(db, tenant_id, segment_id)
    assert bran not in built and built[zed] == ["entered"]

    rebuild(db, settings, tenant_id, segment_id)
    assert_rebuilt_in_place(db, tenant_id, segment_id, before)
    assert published(db, tenant_id, segment_id) == (first - {zed}) | {bran}
    moved = moved_by_builds(db, tenant_id, segment_id)
    assert moved[bran] == ["entered"] and moved[zed] == ["entered", "left"]
    assert {m for m in moved if m not in built} == {bran}  # no one else recorded
    assert_copy_current(db, settings, tenant_id, segment_id)

    rebuild(db, settings, tenant_id, segment_id)  # nothing changed: nothing written
    assert_rebuilt_in_place(db, tenant_id, segment_id, before)
    assert moved_by_builds(db, tenant_id, segment_id) == moved
    assert_copy_current(db, settings, tenant_id, segment_id)


def a_complement_rebuilt_in_place(db: Database, settings: Settings) -> None:
    """A segment holding most of its list, published as its complement: the rebuild flips
    the rows the right way (a member entering loses its row below the horizon)."""
    tenant_id, _ = named_world(db)
    most = add_segment(db, tenant_id, "a", name_has("a"))
    complement = settings.model_copy(update={"build_complement_share": 0.5})
    assert run_pending(db, complement) == 2
    before = segment_row(db, tenant_id, most)
    assert before.horizon > 0
    write_members(db, tenant_id, {"m4@example.com": "Bart", "m1@example.com": "Ed"})
    rebuild(db, complement, tenant_id, most)
    assert_rebuilt_in_place(db, tenant_id, most, before)
    moved = moved_by_builds(db, tenant_id, most)
    bart, ed = (
        member_id(db, tenant_id, "m4@example.com"),
        member_id(db, tenant_id, "m1@example.com"),
    )
    assert moved[bart] == ["entered"] and moved[ed] == ["entered", "left"]
    assert_copy_current(db, complement, tenant_id, most)


def after_the_sync(
    monkeypatch: pytest.MonkeyPatch,
    source: AnalyticsSource,
    segment_id: str,
    then: Callable[[], None],
) -> None:
    """Run ``then`` once, right after the sync of the rebuild of ``segment_id`` (the one
    that copies its own membership), before the rebuild asks the copy."""
    real = source.sync
    done: list[bool] = []

    def sync(db: Database, tenant_id: int, segments: frozenset[str] = frozenset()) -> Synced:
        synced = real(db, tenant_id, segments)
        if segment_id in segments and not done:
            done.append(True)
            then()
        return synced

    monkeypatch.setattr(source, "sync", sync)


def changes_during_the_rebuild(
    db: Database, settings: Settings, monkeypatch: pytest.MonkeyPatch, drained: bool
) -> None:
    """Members changed after the rebuild's sync: Bran (whom the copy would let in) renamed
    Bob, Eve renamed Dana (whom the copy would leave out), a member removed by hand; with
    ``drained``, the copy takes the renames before the query, else their outbox rows wait.
    Either way the published membership is what the system of record selects."""
    tenant_id, segment_id = named_world(db)
    assert run_pending(db, settings) == 1
    before = segment_row(db, tenant_id, segment_id)
    write_members(db, tenant_id, {"m4@example.com": "Bran"})  # Bob: the copy will let him in
    source = analytics_source(settings.analytics)
    assert source is not None
    removed = member_id(db, tenant_id, "m3@example.com")  # Jan, a member

    def meanwhile() -> None:
        write_members(db, tenant_id, {"m4@example.com": "Bob", "m7@example.com": "Dana"})
        assert remove_members(db, tenant_id, segment_id, [removed], UTC) == 1
        if drained:
            source.sync(db, tenant_id)

    after_the_sync(monkeypatch, source, segment_id, meanwhile)
    rebuild(db, settings, tenant_id, segment_id)
    assert_rebuilt_in_place(db, tenant_id, segment_id, before, frozenset({removed}))
    held = published(db, tenant_id, segment_id)
    bob, dana = (
        member_id(db, tenant_id, "m4@example.com"),
        member_id(db, tenant_id, "m7@example.com"),
    )
    assert dana in held and bob not in held and removed not in held
    assert_copy_current(db, settings, tenant_id, segment_id)


def a_large_difference_built_by_range(
    db: Database, settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A difference naming more members than the rebuild applies in one transaction: nothing
    is written in place, the job builds a new generation by range and publishes it."""
    tenant_id, segment_id = named_world(db)
    assert run_pending(db, settings) == 1
    before = segment_row(db, tenant_id, segment_id)
    write_members(db, tenant_id, {"m4@example.com": "Bran", "m0@example.com": "Zed"})
    settings = settings.model_copy(update={"rebuild_in_place_limit": 1})
    rebuild(db, settings, tenant_id, segment_id)
    after = segment_row(db, tenant_id, segment_id)
    assert after.generation > before.generation
    expected = sql_selected(db, tenant_id, segment_id)
    assert published(db, tenant_id, segment_id) == expected
    assert after.member_total == len(expected)
