"""The membership history, on both databases: every cause recorded once in the transaction
of its change, nothing for a rebuild that changes nothing, nothing when the change rolls
back, a feed read with a cursor that gets every change once and in order while writers
commit side by side, "was the member in the segment then", and the retention purge."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from datetime import UTC, date, datetime
from typing import Any

import pytest
import sqlalchemy as sa

from segmentd.domain.errors import InUse
from segmentd.jobs.build_queue import enqueue_build
from segmentd.jobs.build_worker import run_pending
from segmentd.jobs.history_purge import purge_history
from segmentd.membership import read_changes
from segmentd.secrets import TokenKeys
from segmentd.services import segment_service
from segmentd.services.member_service import delete_members, upsert_members
from segmentd.services.static_segments import (
    StaticDraft,
    add_static_members,
    create_static_segment,
    remove_static_members,
)
from segmentd.settings import Settings
from segmentd.storage import change_log, membership_history
from segmentd.storage.db import Database
from segmentd.storage.field_defs import check_spec, create_field
from segmentd.storage.members import TagFlag
from segmentd.storage.membership_history import (
    member_changes,
    member_state_at,
    segment_sizes_between,
)
from segmentd.storage.schema import (
    change_counters,
    members,
    segment_members,
    segments,
)
from segmentd.storage.tenants import default_list_id
from segmentd.storage.webhooks import create_webhook, list_webhooks
from tests.conftest import Tenant
from tests.conftest import test_settings as settings_for
from tests.support import factories
from tests.support.factories import held, replayed

TZ = UTC


@pytest.fixture
def settings(db_url: str) -> Settings:
    return settings_for(db_url, build_parallelism=1)


@pytest.fixture
def city(db: Database, tenant: Tenant) -> int:
    """A City field on the tenant; the default list's id."""
    with db.write() as conn:
        create_field(conn, tenant.id, check_spec("City", 0))
        return default_list_id(conn, tenant.id)


def upsert(db: Database, tenant_id: int, list_id: int, *rows: dict[str, Any]) -> None:
    with db.write() as conn:
        upsert_members(
            conn, tenant_id, list_id, list(rows), update_existing=True,
            tag_flag=TagFlag.APPEND, tz=TZ,
        )  # fmt: skip


def lives_in(email: str, town: str) -> dict[str, Any]:
    return {"email": email, "fields": {"City": town}}


def native_segment(db: Database, tenant_id: int, list_id: int, raw: dict[str, Any]) -> str:
    return factories.native_segment(db, tenant_id, list_id, "s", raw, TZ)


def paris(db: Database, tenant_id: int, list_id: int) -> str:
    field = {"kind": "field", "field": "City", "op": "==", "value": "paris"}
    return native_segment(db, tenant_id, list_id, {"all": [field]})


def changes(db: Database, tenant_id: int, after: int = 0, **kw: Any) -> list[tuple[Any, ...]]:
    with db.read() as conn:
        found = read_changes(conn, tenant_id, after_seq=after, limit=100_000, **kw)
    return [(c.segment_id, c.member_id, c.change, c.cause) for c in found]


def member_id(db: Database, tenant_id: int, email: str) -> int:
    with db.read() as conn:
        return int(
            conn.execute(
                sa.select(members.c.id).where(
                    members.c.tenant_id == tenant_id, members.c.email_key == email
                )
            ).scalar_one()
        )


def last_seq(db: Database, tenant_id: int) -> int:
    with db.read() as conn:
        return membership_history.last_seq(conn, tenant_id)


def stored_seqs(db: Database, tenant_id: int) -> list[int]:
    with db.read() as conn:
        return [c.seq for c in read_changes(conn, tenant_id, after_seq=0, limit=1_000_000)]


def test_every_cause_is_recorded_once_and_a_rebuild_that_changes_nothing_records_nothing(
    db: Database, settings: Settings, tenant: Tenant, city: int
) -> None:
    t = tenant.id
    upsert(db, t, city, lives_in("a@x.com", "paris"), lives_in("b@x.com", "Lyon"))
    a, b = member_id(db, t, "a@x.com"), member_id(db, t, "b@x.com")
    segment = paris(db, t, city)
    run_pending(db, settings)
    assert changes(db, t) == [(segment, a, "entered", "build")]

    mark = last_seq(db, t)
    with db.write() as conn:
        enqueue_build(conn, t, segment)
    run_pending(db, settings)
    assert changes(db, t, mark) == []  # the same membership: nothing recorded

    upsert(db, t, city, lives_in("b@x.com", "paris"))
    assert changes(db, t, mark) == [(segment, b, "entered", "realtime")]

    mark = last_seq(db, t)
    assert segment_service.remove_members(db, t, segment, [a], TZ) == 1
    assert changes(db, t, mark) == [(segment, a, "left", "removal")]

    given = create_static_segment(db, t, StaticDraft(name="Given")).id
    follower = native_segment(
        db, t, city, {"all": [{"kind": "segment", "segment": given, "op": "in"}]}
    )
    run_pending(db, settings)
    mark = last_seq(db, t)
    add_static_members(db, t, given, TZ, member_ids=[a, b])
    assert changes(db, t, mark) == [
        (given, a, "entered", "static"),
        (given, b, "entered", "static"),
        (follower, a, "entered", "reference"),
        (follower, b, "entered", "reference"),
    ]
    mark = last_seq(db, t)
    remove_static_members(db, t, given, TZ, member_ids=[b])
    assert changes(db, t, mark) == [
        (given, b, "left", "static"),
        (follower, b, "left", "reference"),
    ]

    mark = last_seq(db, t)
    with db.write() as conn:
        delete_members(conn, t, [a])
    assert sorted(changes(db, t, mark)) == sorted(
        [(given, a, "left", "member_deleted"), (follower, a, "left", "member_deleted")]
    )
    for segment_id in (segment, given, follower):
        assert replayed(db, t, segment_id) == set(held(db, segment_id))


def test_a_change_that_rolls_back_records_nothing_and_a_commit_outside_write_fails(
    db: Database, settings: Settings, tenant: Tenant, city: int
) -> None:
    t = tenant.id
    upsert(db, t, city, lives_in("a@x.com", "Lyon"))
    segment = paris(db, t, city)
    run_pending(db, settings)
    mark = last_seq(db, t)
    with pytest.raises(RuntimeError, match="boom"), db.write() as conn:
        upsert_members(
            conn, t, city, [lives_in("a@x.com", "paris")], update_existing=True,
            tag_flag=TagFlag.APPEND, tz=TZ,
        )  # fmt: skip
        assert change_log.pending(conn)
        raise RuntimeError("boom")
    assert changes(db, t, mark) == [] and held(db, segment) == []

    # A transaction that bypasses Database.write cannot commit a change without its history.
    bypass = db.write_engine.connect()
    with pytest.raises(RuntimeError, match="not stored"), bypass as conn, conn.begin():
        upsert_members(
            conn, t, city, [lives_in("a@x.com", "paris")], update_existing=True,
            tag_flag=TagFlag.APPEND, tz=TZ,
        )  # fmt: skip
    assert changes(db, t, mark) == [] and held(db, segment) == []
    upsert(db, t, city, lives_in("a@x.com", "paris"))  # the next transaction is clean
    assert changes(db, t, mark) == [(segment, member_id(db, t, "a@x.com"), "entered", "realtime")]


WRITERS, ROUNDS = 4, 12


def test_a_segment_whose_first_changes_are_real_time_is_named_numbered_and_sized(
    db: Database, settings: Settings, tenant: Tenant, city: int
) -> None:
    # Built empty, its build records nothing: its first changes come from real-time updates,
    # which bring what the history needs of it from their own read.
    t = tenant.id
    upsert(db, t, city, lives_in("a@x.com", "Lyon"), lives_in("b@x.com", "Lyon"))
    a, b = member_id(db, t, "a@x.com"), member_id(db, t, "b@x.com")
    segment = paris(db, t, city)
    run_pending(db, settings)
    assert changes(db, t) == []

    upsert(db, t, city, lives_in("a@x.com", "paris"), lives_in("b@x.com", "paris"))
    upsert(db, t, city, lives_in("a@x.com", "Lyon"))
    assert changes(db, t) == [
        (segment, a, "entered", "realtime"),
        (segment, b, "entered", "realtime"),
        (segment, a, "left", "realtime"),
    ]
    seqs = stored_seqs(db, t)
    with db.read() as conn:
        counter = conn.execute(
            sa.select(change_counters.c.seq).where(change_counters.c.tenant_id == t)
        ).scalar_one()
        today = datetime.now(UTC).date()
        sizes = segment_sizes_between(conn, t, segment, today, today)
    assert seqs == [1, 2, 3] and counter == 3
    assert sizes == [(today, 1)]
    assert replayed(db, t, segment) == set(held(db, segment)) == {b}


def test_a_cursor_reads_every_change_once_in_order_while_writers_commit(
    db: Database, settings: Settings, tenant: Tenant, city: int
) -> None:
    """Writers move their own members in and out of their own segments concurrently (so
    they share no lock but the history's counter); a consumer keeping only its cursor (a new
    connection each read, as after a restart) reads the tenant's feed along. It must get
    every change exactly once, in seq order, with no gap: a change committing after the
    consumer read past its seq would be lost."""
    t = tenant.id
    emails = [f"w{i}@x.com" for i in range(WRITERS)]
    upsert(db, t, city, *(lives_in(e, "nowhere") for e in emails))
    towns = [f"town{i}" for i in range(WRITERS)]
    owned = [
        native_segment(
            db, t, city, {"all": [{"kind": "field", "field": "City", "op": "==", "value": town}]}
        )
        for town in towns
    ]
    run_pending(db, settings)
    done = threading.Event()
    errors: list[BaseException] = []

    def writer(email: str, town: str) -> None:
        try:
            for round_ in range(ROUNDS):
                upsert(db, t, city, lives_in(email, town if round_ % 2 == 0 else "nowhere"))
        except BaseException as exc:  # reported by the test
            errors.append(exc)

    read: list[int] = []

    def consume() -> None:
        cursor = 0
        while True:
            finished = done.is_set()
            with db.read() as conn:
                batch = read_changes(conn, t, after_seq=cursor, limit=7)
            read.extend(c.seq for c in batch)
            if batch:
                cursor = batch[-1].seq
            elif finished:
                return

    threads = [
        threading.Thread(target=writer, args=pair) for pair in zip(emails, towns, strict=True)
    ]
    consumer = threading.Thread(target=consume)
    consumer.start()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    done.set()
    consumer.join()
    assert not errors
    stored = stored_seqs(db, t)
    with db.read() as conn:
        counter = conn.execute(sa.select(change_counters.c.seq)).scalar_one()
    assert read == stored  # every one, once, in order
    assert stored == list(range(1, len(stored) + 1)) and counter == len(stored)
    assert len(stored) == WRITERS * ROUNDS
    for segment in owned:
        assert replayed(db, t, segment) == set(held(db, segment))


@pytest.fixture
def clock_at() -> Iterator[list[int]]:
    """The time the history records (epoch seconds), set by the test."""
    moment = [int(datetime(2026, 1, 1, tzinfo=UTC).timestamp())]
    real = change_log.now
    change_log.now = lambda: moment[0]  # type: ignore[assignment]
    try:
        yield moment
    finally:
        change_log.now = real  # type: ignore[assignment]


def test_was_member_at_sizes_by_day_and_a_members_history(
    db: Database, settings: Settings, tenant: Tenant, city: int, clock_at: list[int]
) -> None:
    t = tenant.id
    upsert(db, t, city, lives_in("a@x.com", "Lyon"), lives_in("b@x.com", "paris"))
    a = member_id(db, t, "a@x.com")
    segment = paris(db, t, city)
    start = clock_at[0]
    run_pending(db, settings)  # b enters at start
    clock_at[0] = start + 100
    upsert(db, t, city, lives_in("a@x.com", "paris"))  # a enters at +100
    clock_at[0] = start + 86_400 + 5
    upsert(db, t, city, lives_in("a@x.com", "Lyon"))  # a leaves the next day

    with db.read() as conn:

        def was(at: int) -> bool | None:
            return member_state_at(conn, t, segment, a, at)

        assert was(start + 99) is False  # by the first change after it
        assert was(start + 100) is True
        assert was(start + 86_404) is True
        assert was(start + 86_405) is False
        assert member_state_at(conn, t, segment, a + 1000, start) is None  # no history
        history = member_changes(conn, t, a, after_seq=0, limit=10)
        assert [(c.change, c.at - start) for c in history] == [("entered", 100), ("left", 86_405)]
        first = date(2026, 1, 1)
        sizes = segment_sizes_between(conn, t, segment, first, date(2026, 1, 3))
        assert sizes == [(first, 2), (date(2026, 1, 2), 1)]
        total = conn.execute(sa.select(segments.c.member_total)).scalar_one()
        assert total == 1


def test_retention_purges_old_changes_in_chunks_and_keeps_the_rest(
    db: Database, settings: Settings, tenant: Tenant, city: int, clock_at: list[int]
) -> None:
    t = tenant.id
    upsert(db, t, city, *(lives_in(f"m{i}@x.com", "paris") for i in range(5)))
    segment = paris(db, t, city)
    start = clock_at[0]
    run_pending(db, settings)  # 5 changes at start
    clock_at[0] = start + 40 * 86_400
    upsert(db, t, city, lives_in("m0@x.com", "Lyon"))  # 1 change 40 days later
    kept = changes(db, t)[-1:]
    assert purge_history(db, 0, now=start + 41 * 86_400) == 0  # 0: kept forever
    assert purge_history(db, 30, now=start + 41 * 86_400, chunk=2) == 5
    assert changes(db, t) == kept
    assert changes(db, t, segment_id=segment) == kept
    assert purge_history(db, 30, now=start + 41 * 86_400, chunk=2) == 0


FORMS = {"plain": 1.0, "complement": 0.0}  # build_complement_share: never / whenever it can


def horizon(db: Database, segment_id: str) -> int:
    with db.read() as conn:
        found = conn.execute(sa.select(segments.c.horizon).where(segments.c.id == segment_id))
        return int(found.scalar_one())


def redefine(db: Database, tenant_id: int, segment_id: str, town: str) -> None:
    raw = {"all": [{"kind": "field", "field": "City", "op": "!=", "value": town}]}
    factories.redefine_native(db, tenant_id, segment_id, raw, TZ)


@pytest.mark.parametrize("first", FORMS)
@pytest.mark.parametrize("second", FORMS)
def test_a_rebuild_records_exactly_the_members_it_moves_in_either_stored_form(
    db: Database, db_url: str, tenant: Tenant, city: int, first: str, second: str
) -> None:
    """A condition redefined moves members both ways; members who joined the list between the
    two builds sit between the two generations' horizons when both are complements. The
    rebuild builds a new generation (not in place: the publish's difference is recorded)."""
    t = tenant.id
    towns = ["paris", "Lyon", "Nice"]
    upsert(db, t, city, *(lives_in(f"m{i}@x.com", towns[i % 3]) for i in range(12)))
    build = {
        form: settings_for(
            db_url, build_parallelism=1, build_complement_share=share, rebuild_in_place_limit=0
        )
        for form, share in FORMS.items()
    }
    segment = native_segment(
        db, t, city, {"all": [{"kind": "field", "field": "City", "op": "!=", "value": "paris"}]}
    )
    run_pending(db, build[first])
    assert (horizon(db, segment) > 0) == (first == "complement")
    upsert(db, t, city, *(lives_in(f"n{i}@x.com", towns[i % 3]) for i in range(6)))
    before = set(held(db, segment))
    assert replayed(db, t, segment) == before
    mark = last_seq(db, t)
    redefine(db, t, segment, "Lyon")
    run_pending(db, build[second])
    assert (horizon(db, segment) > 0) == (second == "complement")
    after = set(held(db, segment))
    moved = changes(db, t, mark)
    assert {(m, change) for _, m, change, _ in moved} == {
        (m, "entered") for m in after - before
    } | {(m, "left") for m in before - after}
    assert {cause for *_, cause in moved} == {"build"} and len(moved) == len(before ^ after)
    assert replayed(db, t, segment) == after


@pytest.mark.parametrize("form", FORMS)
def test_deleting_a_segment_records_its_members_leaving_and_deletes_its_webhooks(
    db: Database, db_url: str, tenant: Tenant, city: int, form: str
) -> None:
    """Every member of the published membership leaves with the cause "deleted", whatever
    its stored form, in the deleting transaction; the segment's webhook subscriptions go
    with it (with their deliveries), the tenant's others stay. A deletion refused records
    nothing."""
    t = tenant.id
    towns = ["paris", "Lyon", "Nice"]
    upsert(db, t, city, *(lives_in(f"m{i}@x.com", towns[i % 3]) for i in range(9)))
    build = settings_for(db_url, build_parallelism=1, build_complement_share=FORMS[form])
    segment = native_segment(
        db, t, city, {"all": [{"kind": "field", "field": "City", "op": "!=", "value": "paris"}]}
    )
    follower = native_segment(
        db, t, city, {"all": [{"kind": "segment", "segment": segment, "op": "in"}]}
    )
    run_pending(db, build)
    assert (horizon(db, segment) > 0) == (form == "complement")
    members_then = set(held(db, segment))
    assert len(members_then) == 6
    keys = TokenKeys("test secret")
    with db.write() as conn:
        own, _ = create_webhook(
            conn, t, url="https://hooks.example.com/a", segment_id=segment, events="both",
            enabled=True, cursor=0, keys=keys,
        )  # fmt: skip
        every, _ = create_webhook(
            conn, t, url="https://hooks.example.com/b", segment_id=None, events="both",
            enabled=True, cursor=0, keys=keys,
        )  # fmt: skip
    mark = last_seq(db, t)
    with pytest.raises(InUse):
        segment_service.delete_segment(db, t, segment)  # the follower refers to it
    assert changes(db, t, mark) == []
    segment_service.delete_segment(db, t, follower)
    segment_service.delete_segment(db, t, segment)
    moved = changes(db, t, mark)
    assert sorted(moved) == sorted(
        [(follower, m, "left", "deleted") for m in members_then]
        + [(segment, m, "left", "deleted") for m in members_then]
    )
    with db.read() as conn:
        assert [w.id for w in list_webhooks(conn, t)] == [every.id]
        rows = conn.execute(
            sa.select(sa.func.count())
            .select_from(segment_members)
            .where(segment_members.c.tenant_id == t)
        ).scalar()
    assert rows == 0 and own.id != every.id


def test_members_taken_back_from_a_static_segment_by_delete_record_the_static_cause(
    db: Database, tenant: Tenant, city: int
) -> None:
    """``DELETE .../segments/{id}/members`` of a static segment takes members back as the
    static edit does: the cause is "static", not "removal"."""
    t = tenant.id
    upsert(db, t, city, lives_in("a@x.com", "paris"), lives_in("b@x.com", "Lyon"))
    a, b = member_id(db, t, "a@x.com"), member_id(db, t, "b@x.com")
    given = create_static_segment(db, t, StaticDraft(name="Given")).id
    add_static_members(db, t, given, TZ, member_ids=[a, b])
    mark = last_seq(db, t)
    assert segment_service.remove_members(db, t, given, [a], TZ) == 1
    assert changes(db, t, mark) == [(given, a, "left", "static")]
    assert replayed(db, t, given) == {b}
