"""Counting a condition that reads other segments range by range of member ids gives the
count of one statement over the whole list, whatever the ranges and the form of the
referenced generations (plain rows or a complement)."""

from __future__ import annotations

import pytest

from segmentd.domain.stored_form import load_condition
from segmentd.services.condition_counts import count_selected
from segmentd.services.member_service import upsert_members
from segmentd.settings import Settings
from segmentd.storage.catalog import load_catalog
from segmentd.storage.db import Database
from segmentd.storage.members import TagFlag
from segmentd.storage.segments import get_segment
from tests.membership.test_referenced_segments import FORMS, TZ, expected, make_world


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
