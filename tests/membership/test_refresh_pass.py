"""``MembershipStore.refresh``: a published generation brought to another answer in place,
range by range, for several segments in one pass, on both databases and in both forms: the
rows that must change and nothing else, members removed by hand kept out, counts exact
after every range, and a range refreshed twice unchanged the second time."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC

import pytest

from segmentd.domain.conditions import Condition
from segmentd.membership import store
from segmentd.storage.db import Database
from tests.conftest import Tenant
from tests.jobs.test_builds import add_catalog, add_members
from tests.membership.test_membership_interface import (
    OLD,
    YOUNG,
    Generation,
    build,
    list_ids,
    matching,
    page_all,
    plan_of,
    segment,
)
from tests.support.factories import held


@pytest.fixture
def acme(db: Database, tenant: Tenant) -> Tenant:
    add_catalog(db, tenant.id)
    add_members(db, tenant.id, 60)  # Age i % 90
    return tenant


@pytest.fixture(params=[False, True], ids=["plain", "complement"])
def complement(request: pytest.FixtureRequest) -> bool:
    return bool(request.param)


@dataclass(frozen=True)
class Target:
    tenant_id: int
    segment_id: str
    segment_number: int
    generation: int
    condition: Condition


def target(db: Database, tenant: Tenant, key: Generation, condition: dict[str, object]) -> Target:
    parsed = plan_of(db, tenant, condition, False).condition
    return Target(key.tenant_id, key.segment_id, key.segment_number, key.generation, parsed)


def refresh(db: Database, tenant: Tenant, targets: list[Target], lo: int, hi: int) -> int:
    list_id = segment(db, tenant, targets[0].segment_id).list_id
    with db.write() as conn:
        return store().refresh(conn, tenant.id, list_id, (lo, hi), targets, UTC)


def assert_counted(db: Database, tenant: Tenant, key: Generation) -> list[int]:
    members = held(db, key.segment_id)
    assert segment(db, tenant, key.segment_id).member_total == len(members)
    with db.read() as conn:
        assert store().count(conn, key) == len(members)
    return members


def test_a_refresh_moves_the_published_generation_to_the_new_answer_in_place(
    db: Database, acme: Tenant, complement: bool
) -> None:
    young_id, young_key, _ = build(db, acme, YOUNG, complement)
    old_id, old_key, _ = build(db, acme, OLD, complement)
    removed = matching(db, acme, lambda age: age >= 50)[0]
    with db.write() as conn:
        store().remove(conn, acme.id, young_id, [removed])
    add_members(db, acme.id, 12, start=60)  # past the horizon, in no generation yet
    ids = list_ids(db, acme)
    young_before, old_before = held(db, young_id), held(db, old_id)

    # The two segments swap answers: one pass over the members for both.
    targets = [target(db, acme, young_key, OLD), target(db, acme, old_key, YOUNG)]
    middle = ids[len(ids) // 2]
    changed = refresh(db, acme, targets, 0, middle)
    for key in (young_key, old_key):  # exact between the two ranges too
        assert_counted(db, acme, key)
    changed += refresh(db, acme, targets, middle, ids[-1])

    old, young = matching(db, acme, lambda a: a >= 50), matching(db, acme, lambda a: a < 30)
    now_old = [m for m in old if m != removed]  # removed by hand from that segment: stays out
    assert assert_counted(db, acme, young_key) == now_old == page_all(db, acme, young_id)
    assert assert_counted(db, acme, old_key) == young == page_all(db, acme, old_id)
    assert changed == len({*young_before} ^ {*now_old}) + len({*old_before} ^ {*young})
    assert segment(db, acme, young_id).generation == young_key.generation  # no new generation
    assert (segment(db, acme, young_id).horizon > 0) == complement

    assert refresh(db, acme, targets, 0, ids[-1]) == 0  # done already: nothing to change
    assert assert_counted(db, acme, young_key) == now_old


def test_a_generation_no_longer_published_is_left_alone(
    db: Database, acme: Tenant, complement: bool
) -> None:
    segment_id, first, _ = build(db, acme, YOUNG, complement)
    _again, _second, _ = build(db, acme, YOUNG, complement)  # another segment, same list
    ids = list_ids(db, acme)
    condition = target(db, acme, first, OLD).condition
    stale = Target(acme.id, segment_id, first.segment_number, first.generation + 1, condition)
    assert refresh(db, acme, [stale], 0, ids[-1]) == 0
    assert held(db, segment_id) == matching(db, acme, lambda a: a < 30)
