"""Paging a segment's members (issue #5): every offset gives the right ids, in order.

Pages past the middle are read from the end of the membership, so the rule checked here is
that both directions agree with one plain sorted list, on both databases, including after
members are removed by hand and with a filter on the members' fields.
"""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from segmentd.storage.db import Database
from segmentd.storage.schema import members, segment_members
from segmentd.storage.segments import (
    Segment,
    create_segment,
    get_segment,
    member_page,
    remove_members,
)
from segmentd.storage.tenants import default_list_id
from segmentd.timefmt import now

from .conftest import Tenant

MEMBERS = 23
CONDITION = {"relation": "and", "items": [{"field_name": "Name", "op": "contain", "value": "m"}]}


def published_segment(db: Database, tenant: Tenant) -> tuple[str, list[int]]:
    """A segment published as generation 1 holding every other member: (id, member ids)."""
    with db.write() as conn:
        list_id = default_list_id(conn, tenant.id)
        rows = [
            {"tenant_id": tenant.id, "list_id": list_id, "email": f"m{i}@page.test",
             "email_key": f"m{i}@page.test", "domain": "page.test", "name": f"m{i}",
             "created_at": now(), "updated_at": now(), "n1": float(i % 3)}
            for i in range(2 * MEMBERS)
        ]  # fmt: skip
        conn.execute(sa.insert(members), rows)
        ids = sorted(conn.execute(sa.select(members.c.id)).scalars())[::2]
        segment_id = create_segment(
            conn, tenant.id, list_id=list_id, name="pages", segment_type=0, condition=CONDITION
        )
        conn.execute(
            sa.insert(segment_members),
            [
                {"tenant_id": tenant.id, "segment_id": segment_id, "generation": 1, "member_id": i}
                for i in ids
            ],
        )
        conn.execute(
            sa.text(
                "UPDATE segments SET generation = 1, status = 2, member_total = :n WHERE id = :id"
            ),
            {"n": len(ids), "id": segment_id},
        )
    return segment_id, ids


def segment_of(db: Database, tenant: Tenant, segment_id: str) -> Segment:
    with db.read() as conn:
        found = get_segment(conn, tenant.id, segment_id)
    assert found is not None
    return found


def all_pages(db: Database, segment: Segment, limit: int) -> list[tuple[list[int], int]]:
    with db.read() as conn:
        return [
            member_page(conn, segment, offset=offset, limit=limit)
            for offset in range(segment.member_total + 2)
        ]


@pytest.mark.parametrize("limit", [1, 4, 10, 100])
def test_every_offset_gives_the_sorted_slice(db: Database, tenant: Tenant, limit: int) -> None:
    segment_id, ids = published_segment(db, tenant)
    pages = all_pages(db, segment_of(db, tenant, segment_id), limit)
    assert pages == [(ids[offset : offset + limit], len(ids)) for offset in range(len(ids) + 2)]


def test_pages_follow_members_removed_by_hand(db: Database, tenant: Tenant) -> None:
    segment_id, ids = published_segment(db, tenant)
    gone = [ids[0], ids[7], ids[-1]]
    with db.write() as conn:
        assert remove_members(conn, tenant.id, segment_id, gone) == len(gone)
    left = [i for i in ids if i not in gone]
    pages = all_pages(db, segment_of(db, tenant, segment_id), 3)
    assert pages == [(left[offset : offset + 3], len(left)) for offset in range(len(left) + 2)]


def test_a_filtered_page_is_sorted_and_counted(db: Database, tenant: Tenant) -> None:
    segment_id, ids = published_segment(db, tenant)
    segment = segment_of(db, tenant, segment_id)
    with db.read() as conn:
        values = {row.id: row.n1 for row in conn.execute(sa.select(members.c.id, members.c.n1))}
        where = members.c.n1 == 1.0
        wanted = [i for i in ids if values[i] == 1.0]
        pages = [member_page(conn, segment, where=where, offset=o, limit=2) for o in range(9)]
    assert pages == [(wanted[o : o + 2], len(wanted)) for o in range(9)]
