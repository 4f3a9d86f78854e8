"""Counting a condition that reads other segments range by range of member ids gives the
count of one statement over the whole list, whatever the ranges and the form of the
referenced generations (plain rows or a complement)."""

from __future__ import annotations

import threading
from typing import Any

import pytest
import sqlalchemy as sa

from segmentd.domain.conditions import Condition
from segmentd.domain.native_form import parse_native
from segmentd.domain.stored_form import load_condition
from segmentd.jobs.build_worker import run_pending
from segmentd.services.condition_counts import RANGE_IDS, count_selected
from segmentd.services.member_service import upsert_members
from segmentd.services.native_segments import NativeDraft, count_native, create_native_segment
from segmentd.services.segment_service import rebuild_segment
from segmentd.settings import Settings
from segmentd.storage.catalog import load_catalog
from segmentd.storage.db import Database
from segmentd.storage.members import TagFlag
from segmentd.storage.schema import members, segments
from segmentd.storage.segments import get_segment
from segmentd.storage.tenants import default_list_id
from tests.conftest import Tenant, make_tenant, test_settings
from tests.membership.test_referenced_segments import FORMS, TZ, expected, make_world
from tests.storage.test_side_by_side import HELPER, helped_counts
from tests.support.factories import add_list, add_member


@pytest.mark.parametrize("form", sorted(FORMS))
def test_a_count_by_ranges_equals_the_members_a_rebuild_selects(db: Database, form: str) -> None:
    settings: Settings = FORMS[form]
    world = make_world(db, settings)
    people = [
        {
            "email": f"p{i}@example.com",
            "fields": {"City": ("paris", "lyon")[i % 2], "Age": str(20 + i)},
            "tags": ["vip"] if i % 3 == 0 else [],
        }
        for i in range(40)
    ]
    with db.write() as conn:
        upsert_members(
            conn, world.tenant_id, world.list_id, people, update_existing=True,
            tag_flag=TagFlag.APPEND, tz=TZ,
        )  # fmt: skip
    for segment_id in world.dynamic:
        wanted = len(expected(world, segment_id))
        with db.read() as conn:
            segment = get_segment(conn, world.tenant_id, segment_id)
            assert segment is not None
            catalog = load_catalog(conn, world.tenant_id)
            condition = load_condition(segment.condition, catalog, TZ)
            counts = {
                span: count_selected(
                    conn, world.tenant_id, world.list_id, condition, segment_id, span
                )
                for span in (1, 3, 7, 1000)
            }
        assert set(counts.values()) == {wanted}, (segment_id, counts)
    assert any(len(expected(world, i)) > 0 for i in world.dynamic)


def test_a_count_reads_one_state_while_a_referenced_segment_publishes_anew(
    db: Database, tenant: Tenant, db_url: str
) -> None:
    """A count runs one statement per range of member ids, naming the referenced segment's
    generation as first read. A rebuild that publishes a new generation and deletes the old
    one's rows between two of them must not change the answer: the count reads one state."""
    # The rebuild builds a new generation (not in place), whose publish the count straddles.
    settings = test_settings(db_url, build_parallelism=1, rebuild_in_place_limit=0)
    with db.write() as conn:
        list_id = default_list_id(conn, tenant.id)
        people = [{"email": f"p{i}@example.com"} for i in range(6)]
        upsert_members(
            conn, tenant.id, list_id, people, update_existing=True,
            tag_flag=TagFlag.APPEND, tz=TZ,
        )  # fmt: skip
        # Members in three ranges of ids, so that the count takes three statements.
        highest = conn.execute(sa.select(sa.func.max(members.c.id))).scalar_one()
        for shift in (RANGE_IDS, 2 * RANGE_IDS):
            conn.execute(
                sa.update(members)
                .where(
                    members.c.email.in_(["p2@example.com", "p4@example.com"][: shift // RANGE_IDS])
                )
                .values(id=members.c.id + highest + shift)
            )
    # Two of six, in the later ranges: stored as rows (not as the complement).
    two = {
        "any": [
            {"kind": "field", "field": "Email", "op": "contain", "value": v} for v in ("p2@", "p4@")
        ]
    }
    referred = create_native_segment(db, tenant.id, NativeDraft("Two", two), TZ).id
    run_pending(db, settings)
    tree = {"kind": "segment", "segment": referred, "op": "in"}
    assert count_native(db, tenant.id, None, tree, TZ) == 2

    republished = threading.Event()

    def publish_anew(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        # Once the count has read which generation the segment published, and before it
        # reads that generation's rows.
        if "segments.horizon" not in statement or republished.is_set():
            return
        republished.set()
        rebuild_segment(db, tenant.id, referred)
        run_pending(db, settings)  # publishes, then deletes the old generation's rows

    sa.event.listen(db.read_engine, "after_cursor_execute", publish_anew)
    try:
        counted = count_native(db, tenant.id, None, tree, TZ)
    finally:
        sa.event.remove(db.read_engine, "after_cursor_execute", publish_anew)
    assert republished.is_set()
    with db.read() as conn:
        generation = conn.execute(
            sa.select(segments.c.generation).where(segments.c.id == referred)
        ).scalar_one()
    assert generation == 2  # a new one, the first one's rows gone
    assert counted == 2


def _by_email_part(db: Database, tenant_id: int, part: str) -> Condition:
    with db.read() as conn:
        catalog = load_catalog(conn, tenant_id)
    native = {"kind": "field", "field": "Email", "op": "contain", "value": part}
    return parse_native(native, catalog, TZ)


def test_a_count_side_by_side_counts_its_tenants_members_only(
    db: Database, tenant: Tenant, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Two tenants' members interleaved by id: every range holds both, and each tenant's
    count, on the caller's connection and a helper's, is its own."""
    other = make_tenant(db, "other")
    for i in range(12):
        owner = (tenant, other)[i % 3 == 2]
        add_member(db, owner.id, f"m{i}{'-x' if i % 2 else ''}@t{owner.id}.test")
    threads = helped_counts(monkeypatch)
    for owner, everyone, with_x in ((tenant, 8, 4), (other, 4, 2)):
        with db.read() as conn:
            list_id = default_list_id(conn, owner.id)
        for part, wanted in (("@", everyone), ("-x@", with_x), ("@nowhere", 0)):
            condition = _by_email_part(db, owner.id, part)
            with db.read() as conn:
                counts = {
                    span: count_selected(conn, owner.id, list_id, condition, range_ids=span)
                    for span in (1, 2, 5, RANGE_IDS)
                }
            assert set(counts.values()) == {wanted}, (owner.id, part, counts)
    assert any(name.startswith(HELPER) for name in threads)


def test_a_list_with_fewer_members_than_ranges_or_none_is_counted(
    db: Database, tenant: Tenant
) -> None:
    """Three members far apart in ids (most ranges hold none of them), and an empty list."""
    with db.write() as conn:
        list_id = default_list_id(conn, tenant.id)
    ids = [add_member(db, tenant.id, f"f{i}@far.test") for i in range(3)]
    with db.write() as conn:
        for step, member_id in enumerate(ids):
            conn.execute(
                sa.update(members).where(members.c.id == member_id).values(id=member_id + step * 50)
            )
    empty = add_list(db, tenant.id)
    condition = _by_email_part(db, tenant.id, "@far")
    with db.read() as conn:
        counts = [count_selected(conn, tenant.id, list_id, condition, range_ids=s) for s in (1, 7)]
        nothing = count_selected(conn, tenant.id, empty, condition, range_ids=1)
    assert counts == [3, 3]
    assert nothing == 0
