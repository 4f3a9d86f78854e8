"""Complement generations (``storage.membership``): a segment that matches most of its list
stores who it leaves out, and every reader sees the same members as from the plain form.

Each test builds the same condition twice, once forced plain (``build_complement_share`` 1)
and once forced to a complement (share 0), and compares what readers get.
"""

from __future__ import annotations

from typing import Any

import pytest
import sqlalchemy as sa

from segmentd.domain.validation import SegmentType, parse_condition
from segmentd.jobs.build_queue import enqueue_build
from segmentd.jobs.build_worker import run_pending
from segmentd.membership.lookup_queries import member_segments_query, split_pairs
from segmentd.membership.pages import member_page, published_member_ids
from segmentd.membership.removal import remove_members
from segmentd.services.member_service import upsert_members
from segmentd.settings import Settings
from segmentd.storage import schema
from segmentd.storage.catalog import load_catalog
from segmentd.storage.compiler import compile_condition
from segmentd.storage.db import Database
from segmentd.storage.members import TagFlag
from segmentd.storage.segments import Segment, get_segment
from segmentd.storage.tenants import default_list_id
from tests.conftest import Tenant, test_settings
from tests.jobs.test_builds import (
    add_catalog,
    add_members,
    add_segment,
    expected_members,
    field_condition,
)
from tests.support.factories import held, rows_needed

MOST = field_condition(">=", "5")  # Age i % 90: 94 % of the members
DEFAULT_SHARE = Settings().build_complement_share


@pytest.fixture
def acme(db: Database, tenant: Tenant) -> Tenant:
    add_catalog(db, tenant.id)
    add_members(db, tenant.id, 300)
    return tenant


def settings(db_url: str, share: float) -> Settings:
    # Chunks of 40 (below the settings' floor: model_copy skips validation) split buckets.
    found = test_settings(db_url, build_complement_share=share)
    return found.model_copy(update={"build_chunk_size": 40})


def built(
    db: Database, db_url: str, tenant: Tenant, condition: dict[str, Any], share: float
) -> str:
    segment_id = add_segment(db, tenant.id, condition)
    assert run_pending(db, settings(db_url, share)) == 1
    return segment_id


def segment(db: Database, tenant: Tenant, segment_id: str) -> Segment:
    with db.read() as conn:
        found = get_segment(conn, tenant.id, segment_id)
    assert found is not None
    return found


def stored(db: Database, segment_id: str) -> int:
    sm = schema.segment_members.c
    number = sa.select(schema.segments.c.number).where(schema.segments.c.id == segment_id)
    with db.read() as conn:
        return int(
            conn.execute(
                sa.select(sa.func.count()).where(sm.segment_number == number.scalar_subquery())
            ).scalar_one()
        )


def both(db: Database, db_url: str, tenant: Tenant, condition: dict[str, Any]) -> tuple[str, str]:
    """(plain, complement) builds of ``condition``."""
    plain = built(db, db_url, tenant, condition, share=1.0)
    complement = built(db, db_url, tenant, condition, share=0.0)
    assert segment(db, tenant, plain).horizon == 0
    assert segment(db, tenant, complement).horizon > 0
    return plain, complement


def test_a_segment_holding_most_of_its_list_stores_who_it_leaves_out(
    db: Database, db_url: str, acme: Tenant
) -> None:
    segment_id = built(db, db_url, acme, MOST, share=DEFAULT_SHARE)

    found = segment(db, acme, segment_id)
    expected = expected_members(db, acme.id, MOST)
    assert found.horizon == max(expected)  # the build's last cursor: the list's last member
    assert held(db, segment_id) == expected
    assert found.member_total == len(expected)
    assert stored(db, segment_id) == 300 - len(expected) == rows_needed(db, segment_id)


def test_a_segment_holding_few_stays_plain(db: Database, db_url: str, acme: Tenant) -> None:
    few = field_condition("<", "5")
    segment_id = built(db, db_url, acme, few, share=DEFAULT_SHARE)

    assert segment(db, acme, segment_id).horizon == 0
    assert stored(db, segment_id) == len(expected_members(db, acme.id, few))


def test_pages_filters_exports_and_look_ups_agree_with_the_plain_form(
    db: Database, db_url: str, acme: Tenant
) -> None:
    plain, complement = both(db, db_url, acme, MOST)
    young = compile_condition_for(db, acme, field_condition("<", "40"))
    with db.snapshot() as conn:
        one, other = segment(db, acme, plain), segment(db, acme, complement)
        assert one.member_total == other.member_total
        for offset in (0, 1, 39, 40, 41, 150, one.member_total - 1, one.member_total + 3):
            for limit in (1, 10, 50):
                page = member_page(conn, one, offset=offset, limit=limit)
                assert member_page(conn, other, offset=offset, limit=limit) == page
                filtered = member_page(conn, one, where=young, offset=offset, limit=limit)
                assert member_page(conn, other, where=young, offset=offset, limit=limit) == filtered
        exported = list(published_member_ids(conn, other, batch=7))
        assert [m for ids in exported for m in ids] == held(db, plain)
        assert all(len(ids) == 7 for ids in exported[:-1])
    assert looked_up(db, acme, complement) == looked_up(db, acme, plain) == set(held(db, plain))


def compile_condition_for(db: Database, tenant: Tenant, raw: dict[str, Any]) -> Any:
    with db.read() as conn:
        catalog = load_catalog(conn, tenant.id)
    return compile_condition(parse_condition(raw, catalog, SegmentType.BY_FIELD, Settings().tz))


def looked_up(db: Database, tenant: Tenant, segment_id: str) -> set[int]:
    """The list's members whose visitor look-up names the segment (by its Commanders Act id),
    three at a time, with a key repeated as the look-up's batches repeat them."""
    named_as = segment(db, tenant, segment_id).commandersact_id
    with db.read() as conn:
        list_id = default_list_id(conn, tenant.id)
        ids = list(
            conn.execute(
                sa.select(schema.members.c.id).where(schema.members.c.list_id == list_id)
            ).scalars()
        )
        found: set[int] = set()
        for start in range(0, len(ids), 3):
            keys = [*ids[start : start + 3], ids[start]]
            params = {"tenant_id": tenant.id, "site_id": list_id}
            params |= {f"key_{index}": key for index, key in enumerate(keys)}
            pairs = split_pairs(conn.execute(member_segments_query(len(keys)), params).scalar())
            assert len(pairs) == len(set(pairs))
            found.update(m for m, named in pairs if named == named_as)
    return found


def test_members_who_join_later_and_changes_keep_both_forms_equal(
    db: Database, db_url: str, acme: Tenant
) -> None:
    plain, complement = both(db, db_url, acme, MOST)
    horizon = segment(db, acme, complement).horizon
    rows = [
        ("late.old@example.com", "70"),  # joins: an id above the horizon
        ("late.young@example.com", "1"),  # does not
        ("user7@example3.com", "2"),  # leaves: gains a row in the complement
        ("user3@example3.com", "50"),  # joins: loses its row
    ]
    with db.write() as conn:
        list_id = default_list_id(conn, acme.id)
        upsert_members(
            conn, acme.id, list_id,
            [{"email": email, "fields": {"Age": age}} for email, age in rows],
            update_existing=True, tag_flag=TagFlag.APPEND,
            tz=Settings().tz,
        )  # fmt: skip

    expected = expected_members(db, acme.id, MOST)
    assert max(expected) > horizon
    for segment_id in (plain, complement):
        assert held(db, segment_id) == expected
        assert segment(db, acme, segment_id).member_total == len(expected)
        assert stored(db, segment_id) == rows_needed(db, segment_id)


def test_removed_members_leave_both_forms_and_stay_out_of_rebuilds(
    db: Database, db_url: str, acme: Tenant
) -> None:
    plain, complement = both(db, db_url, acme, MOST)
    expected = expected_members(db, acme.id, MOST)
    gone = [expected[0], expected[10], 3]  # member 3 (Age 3) was never in the segment
    with db.write() as conn:
        assert remove_members(conn, acme.id, plain, gone) == 2
        assert remove_members(conn, acme.id, complement, gone) == 2
    left = [m for m in expected if m not in gone]
    for segment_id in (plain, complement):
        assert held(db, segment_id) == left
        assert segment(db, acme, segment_id).member_total == len(left)

    with db.write() as conn:
        enqueue_build(conn, acme.id, complement)
    run_pending(db, settings(db_url, 0.0))
    assert held(db, complement) == left
    assert segment(db, acme, complement).member_total == len(left)


def test_a_member_committed_after_the_build_passed_its_id_is_counted_once(
    db: Database, db_url: str, acme: Tenant
) -> None:
    """On PostgreSQL an id can be given out before a build passes it and committed after:
    the new member then lies below the horizon with no row. Raising the horizon past the
    ids to come makes every new member such a one."""
    complement = built(db, db_url, acme, MOST, share=0.0)
    with db.write() as conn:
        conn.execute(
            sa.update(schema.segments)
            .where(schema.segments.c.id == complement)
            .values(horizon=10**12)
        )
        list_id = default_list_id(conn, acme.id)
        upsert_members(
            conn, acme.id, list_id,
            [{"email": f"new{age}@example.com", "fields": {"Age": age}} for age in ("70", "1")],
            update_existing=True, tag_flag=TagFlag.APPEND, tz=Settings().tz,
        )  # fmt: skip

    expected = expected_members(db, acme.id, MOST)
    assert held(db, complement) == expected
    assert segment(db, acme, complement).member_total == len(expected)
