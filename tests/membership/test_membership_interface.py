"""The membership interface (``segmentd.membership.MembershipStore``) through its relational
implementation, on both databases and in both forms a generation may take: filled in ranges,
invisible until published, kept current by real-time changes and removals, read by page,
by count, by batches and by the look-up."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC
from typing import Any

import pytest
import sqlalchemy as sa

from segmentd.domain.conditions import Condition
from segmentd.domain.member_changes import MembersChanged
from segmentd.domain.validation import SegmentType, parse_condition
from segmentd.membership import MembershipStore, store
from segmentd.membership.complement import build_horizon
from segmentd.storage import schema
from segmentd.storage.catalog import load_catalog
from segmentd.storage.db import Database
from segmentd.storage.members import delete_members
from segmentd.storage.segments import Segment, get_segment
from segmentd.storage.sites import get_site
from tests.conftest import Tenant
from tests.jobs.test_builds import AGE_SLOT, add_catalog, add_members, add_segment, field_condition
from tests.support.factories import held

YOUNG = field_condition("<", "30")  # Age i % 90: members 0..29 of 60
OLD = field_condition(">=", "50")  # members 50..59


@dataclass(frozen=True)
class Generation:
    tenant_id: int
    segment_id: str
    segment_number: int
    generation: int


@dataclass(frozen=True)
class Plan:
    list_id: int
    condition: Condition
    complement: bool


@pytest.fixture
def acme(db: Database, tenant: Tenant) -> Tenant:
    add_catalog(db, tenant.id)
    add_members(db, tenant.id, 60)
    return tenant


@pytest.fixture(params=[False, True], ids=["plain", "complement"])
def complement(request: pytest.FixtureRequest) -> bool:
    return bool(request.param)


def segment(db: Database, tenant: Tenant, segment_id: str) -> Segment:
    with db.read() as conn:
        found = get_segment(conn, tenant.id, segment_id)
    assert found is not None
    return found


def plan_of(db: Database, tenant: Tenant, condition: dict[str, Any], complement: bool) -> Plan:
    with db.read() as conn:
        catalog = load_catalog(conn, tenant.id)
        list_id = int(
            conn.execute(
                sa.select(schema.lists.c.id).where(schema.lists.c.tenant_id == tenant.id)
            ).scalar_one()
        )
    parsed = parse_condition(condition, catalog, SegmentType(0), UTC)
    return Plan(list_id, parsed, complement)


def list_ids(db: Database, tenant: Tenant) -> list[int]:
    m = schema.members.c
    with db.read() as conn:
        found = conn.execute(sa.select(m.id).where(m.tenant_id == tenant.id).order_by(m.id))
        return [int(member_id) for member_id in found.scalars()]


def fill_in_two(db: Database, key: Generation, plan: Plan, ids: list[int]) -> int:
    """Fill ``key`` in two ranges, a transaction each, as a build would; publish; the total."""
    membership: MembershipStore = store()
    middle, last = ids[len(ids) // 2], ids[-1]
    for lo, hi in ((0, middle), (middle, last)):
        count = len([m for m in ids if lo < m <= hi])
        with db.write() as conn:
            excluding = membership.has_exclusions(conn, key)
            inside = membership.fill(db, conn, [(key, plan, lo, hi, excluding)], workers=2)
            membership.count_filled(conn, key, plan, [(lo, hi, count)], inside)
        with db.read() as conn:  # the counts are exact after each range
            assert membership.count(conn, key) == len(held_in(db, key, ids, plan, hi))
    with db.write() as conn:
        return membership.publish(conn, key, build_horizon(plan.complement, last))


def held_in(db: Database, key: Generation, ids: list[int], plan: Plan, hi: int) -> list[int]:
    """The members the generation holds up to ``hi`` as its rows say, whatever their form."""
    sm = schema.segment_members.c
    with db.read() as conn:
        rows = set(
            conn.execute(
                sa.select(sm.member_id).where(
                    sm.segment_number == key.segment_number, sm.generation == key.generation
                )
            ).scalars()
        )
    listed = [m for m in ids if m <= hi]
    return [m for m in listed if (m in rows) != plan.complement]


def ages(db: Database, tenant: Tenant) -> dict[int, float]:
    m = schema.members.c
    age = m[f"n{AGE_SLOT}"]
    with db.read() as conn:
        return dict(conn.execute(sa.select(m.id, age).where(m.tenant_id == tenant.id)).all())


def matching(db: Database, tenant: Tenant, test: Any) -> list[int]:
    return sorted(m for m, age in ages(db, tenant).items() if test(age))


def page_all(db: Database, tenant: Tenant, segment_id: str, limit: int = 7) -> list[int]:
    """Every published member, page by page, checking each page's total."""
    found: list[int] = []
    with db.snapshot() as conn:
        current = get_segment(conn, tenant.id, segment_id)
        assert current is not None
        while True:
            ids, total = store().page(conn, current, offset=len(found), limit=limit)
            assert total == current.member_total
            if not ids:
                return found
            found.extend(ids)


def build(
    db: Database, tenant: Tenant, condition: dict[str, Any], complement: bool
) -> tuple[str, Generation, int]:
    segment_id = add_segment(db, tenant.id, condition)
    number = segment(db, tenant, segment_id).number
    key = Generation(tenant.id, segment_id, number, 1)
    plan = plan_of(db, tenant, condition, complement)
    return segment_id, key, fill_in_two(db, key, plan, list_ids(db, tenant))


def test_a_generation_filled_in_two_ranges_is_read_once_published(
    db: Database, acme: Tenant, complement: bool
) -> None:
    segment_id = add_segment(db, acme.id, YOUNG)
    before = segment(db, acme, segment_id)
    key = Generation(acme.id, segment_id, before.number, 1)
    plan = plan_of(db, acme, YOUNG, complement)
    expected = matching(db, acme, lambda age: age < 30)

    assert page_all(db, acme, segment_id) == []  # nothing is published yet
    assert fill_in_two(db, key, plan, list_ids(db, acme)) == len(expected)

    published = segment(db, acme, segment_id)
    assert (published.generation, published.member_total) == (1, len(expected))
    assert (published.horizon > 0) == complement
    assert page_all(db, acme, segment_id) == expected == held(db, segment_id)
    with db.snapshot() as conn:
        assert [m for ids in store().member_ids(conn, published, 4) for m in ids] == expected
        assert store().count(conn, key) == len(expected)
        young = schema.members.c[f"n{AGE_SLOT}"] < 10
        assert store().page(conn, published, where=young, offset=2, limit=3) == (
            expected[2:5],
            10,
        )


def test_readers_see_the_published_generation_until_the_next_one_is_published(
    db: Database, acme: Tenant, complement: bool
) -> None:
    segment_id, first, _total = build(db, acme, YOUNG, complement)
    second = Generation(acme.id, segment_id, first.segment_number, 2)
    plan = plan_of(db, acme, OLD, complement)
    young, old = matching(db, acme, lambda a: a < 30), matching(db, acme, lambda a: a >= 50)

    ids = list_ids(db, acme)
    with db.write() as conn:
        inside = store().fill(db, conn, [(second, plan, 0, ids[-1], False)], workers=1)
        store().count_filled(conn, second, plan, [(0, ids[-1], len(ids))], inside)
    assert page_all(db, acme, segment_id) == young  # the filled generation is not read yet

    with db.write() as conn:
        assert store().publish(conn, second, build_horizon(complement, ids[-1])) == len(old)
    assert page_all(db, acme, segment_id) == old
    assert store().drop_stale(db, acme.id, segment_id, 5) > 0
    assert store().sweep_stale(db, 5) == 0
    assert page_all(db, acme, segment_id) == old


def test_a_change_applied_in_the_writers_transaction_moves_the_member(
    db: Database, acme: Tenant, complement: bool
) -> None:
    segment_id, key, total = build(db, acme, YOUNG, complement)
    young = matching(db, acme, lambda a: a < 30)
    leaving, joining = young[0], matching(db, acme, lambda a: a >= 30)[0]
    age = schema.members.c[f"n{AGE_SLOT}"]

    with db.write() as conn:
        for member_id, value in ((leaving, 80.0), (joining, 1.0)):
            conn.execute(
                sa.update(schema.members)
                .where(schema.members.c.id == member_id)
                .values({age: value})
            )
        store().apply_changes(conn, acme.id, MembersChanged([leaving, joining]), UTC)

    expected = sorted([*young[1:], joining])
    assert page_all(db, acme, segment_id) == expected == held(db, segment_id)
    assert segment(db, acme, segment_id).member_total == total
    with db.read() as conn:
        assert store().count(conn, key) == total


def test_a_rolled_back_change_leaves_the_membership_alone(
    db: Database, acme: Tenant, complement: bool
) -> None:
    segment_id, _key, _total = build(db, acme, YOUNG, complement)
    young = matching(db, acme, lambda a: a < 30)
    age = schema.members.c[f"n{AGE_SLOT}"]

    with pytest.raises(RuntimeError), db.write() as conn:
        conn.execute(
            sa.update(schema.members).where(schema.members.c.id == young[0]).values({age: 80.0})
        )
        store().apply_changes(conn, acme.id, MembersChanged([young[0]]), UTC)
        raise RuntimeError("the writer fails after the update")

    assert page_all(db, acme, segment_id) == young


def test_one_members_segments_are_read_for_the_look_up(
    db: Database, acme: Tenant, complement: bool
) -> None:
    young_id, _key, _total = build(db, acme, YOUNG, complement)
    old_id, _key, _total = build(db, acme, OLD, complement)
    first, last = list_ids(db, acme)[0], list_ids(db, acme)[-1]  # ages 0 and 59
    with db.write() as conn:
        for member_id in (first, last):
            conn.execute(
                sa.update(schema.members)
                .where(schema.members.c.id == member_id)
                .values(tcid=str(member_id))
            )
    with db.read() as conn:
        site = get_site(conn, plan_of(db, acme, YOUNG, False).list_id, acme.id)
    assert site is not None
    young_ca = segment(db, acme, young_id).commandersact_id
    old_ca = segment(db, acme, old_id).commandersact_id

    reader = store().member_segments(db)
    try:
        found = reader.read(site, [str(first), str(last), "404"])
    finally:
        reader.close()
    assert found == {str(first): [young_ca], str(last): [old_ca]}


def test_one_members_segments_are_read_by_its_id(
    db: Database, acme: Tenant, complement: bool
) -> None:
    young_id, _key, _total = build(db, acme, YOUNG, complement)
    old_id, _key, _total = build(db, acme, OLD, complement)
    add_segment(db, acme.id, OLD)  # never built: it holds no one yet
    list_id = plan_of(db, acme, YOUNG, False).list_id
    expected = {
        member_id: sorted(s for s, test in ((young_id, age < 30), (old_id, age >= 50)) if test)
        for member_id, age in ages(db, acme).items()
    }
    with db.read() as conn:
        found = {
            member_id: sorted(store().segments_holding(conn, acme.id, list_id, member_id))
            for member_id in expected
        }
        each = {
            member_id: sorted(
                s
                for s in (young_id, old_id)
                if store().holds_member(conn, segment(db, acme, s), member_id)
            )
            for member_id in expected
        }
    assert found == expected == each
    assert any(found.values()) and not all(found.values())


def test_members_removed_by_hand_or_dropped_leave_every_count(
    db: Database, acme: Tenant, complement: bool
) -> None:
    segment_id, key, total = build(db, acme, YOUNG, complement)
    young = matching(db, acme, lambda a: a < 30)

    with db.write() as conn:
        assert store().remove(conn, acme.id, segment_id, [young[0], young[0], 10**9]) == 1
        assert store().remove(conn, acme.id, "no such segment", [young[1]]) is None
    with db.write() as conn:
        store().drop_members(conn, acme.id, [young[1]])
        assert delete_members(conn, acme.id, [young[1]]) == 1

    assert page_all(db, acme, segment_id) == young[2:] == held(db, segment_id)
    assert segment(db, acme, segment_id).member_total == total - 2
    with db.read() as conn:
        assert store().count(conn, key) == total - 2
        assert store().has_exclusions(conn, key)


def test_the_complement_form_stores_who_it_leaves_out(db: Database, acme: Tenant) -> None:
    plain, _key, _total = build(db, acme, OLD, complement=False)
    other, _key, _total = build(db, acme, OLD, complement=True)

    def rows(segment_id: str) -> int:
        sm = schema.segment_members.c
        number = segment(db, acme, segment_id).number
        with db.read() as conn:
            query = sa.select(sa.func.count()).where(sm.segment_number == number)
            return int(conn.execute(query).scalar_one())

    old = matching(db, acme, lambda a: a >= 50)
    assert rows(plain) == len(old) == 10
    assert rows(other) == 60 - len(old)
    assert page_all(db, acme, plain) == page_all(db, acme, other) == old
