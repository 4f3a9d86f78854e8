"""Paging a segment's members (issue #5): every offset gives the right ids, in order.

A page finds its start from the bucket counts of ``segment_buckets`` (``storage.buckets``), so
the rules checked here are that the counts always equal the rows, whoever wrote them (build
chunks, real-time updates, removals by hand, a rebuild), and that every offset gives the slice
of one plain sorted list, on both databases. The member ids are spread over many buckets,
with empty buckets between them, and the build runs in chunks that split buckets.
"""

from __future__ import annotations

from collections import Counter

import pytest
import sqlalchemy as sa

from segmentd.jobs.build_queue import enqueue_build
from segmentd.jobs.build_worker import run_pending
from segmentd.membership import buckets
from segmentd.membership.buckets import BUCKET_SIZE, bucket_of
from segmentd.membership.pages import member_page
from segmentd.membership.removal import remove_members
from segmentd.services.member_service import upsert_members
from segmentd.services.segment_service import insert_segment, redefine_segment
from segmentd.settings import Settings
from segmentd.storage.db import Database
from segmentd.storage.members import TagFlag
from segmentd.storage.schema import members, segment_buckets
from segmentd.storage.segments import Segment, get_segment
from segmentd.storage.tenants import default_list_id
from segmentd.timefmt import now
from tests.conftest import Tenant, test_settings
from tests.support.factories import held
from tests.support.stored_conditions import stored_condition

MEMBERS = 46
# Names holding an "m" are in the segment: every other member.
CONDITION = {"relation": "and", "items": [{"field_name": "Name", "op": "contain", "value": "m"}]}


def member_id(i: int) -> int:
    # Gaps of a third of a bucket, and a run of empty buckets in the middle.
    return 1 + i * (BUCKET_SIZE // 3) + (7 * BUCKET_SIZE if i >= MEMBERS // 2 else 0)


def small_chunks(db_url: str, size: int, share: float | None = None) -> Settings:
    # Below the settings' floor of 100 (model_copy skips validation), to split buckets here.
    # ``share``: the build's complement share (None: the default).
    update: dict[str, float] = {"build_chunk_size": size}
    if share is not None:
        update["build_complement_share"] = share
    return test_settings(db_url).model_copy(update=update)


def published_segment(
    db: Database, db_url: str, tenant: Tenant, share: float | None = None
) -> tuple[str, list[int]]:
    """A segment built by the worker, holding every other member: (id, its member ids)."""
    with db.write() as conn:
        list_id = default_list_id(conn, tenant.id)
        rows = [
            {"id": member_id(i), "tenant_id": tenant.id, "list_id": list_id,
             "email": f"m{i}@page.test", "email_key": f"m{i}@page.test", "domain": "page.test",
             "name": f"m{i}" if i % 2 == 0 else f"x{i}", "created_at": now(),
             "updated_at": now(), "n1": float(i % 3)}
            for i in range(MEMBERS)
        ]  # fmt: skip
        conn.execute(sa.insert(members), rows)
        segment_id = insert_segment(
            conn,
            tenant.id,
            list_id=list_id,
            name="pages",
            segment_type=0,
            condition=stored_condition(conn, tenant.id, CONDITION),
        )
    # Chunks of 5 members split buckets: each chunk recounts the buckets it touches.
    run_pending(db, small_chunks(db_url, 5, share))
    return segment_id, [member_id(i) for i in range(0, MEMBERS, 2)]


def segment_of(db: Database, tenant: Tenant, segment_id: str) -> Segment:
    with db.read() as conn:
        found = get_segment(conn, tenant.id, segment_id)
    assert found is not None
    return found


def all_pages(db: Database, segment: Segment, limit: int) -> list[tuple[list[int], int]]:
    with db.snapshot() as conn:
        return [
            member_page(conn, segment, offset=offset, limit=limit)
            for offset in range(segment.member_total + 2)
        ]


def assert_counts_match_rows(db: Database, tenant: Tenant, segment: Segment) -> None:
    """The bucket counts are those of the members the generation holds (in either form)."""
    b = segment_buckets.c
    ids = held(db, segment.id)
    with db.read() as conn:
        counts = conn.execute(
            sa.select(b.bucket, b.members).where(
                b.tenant_id == tenant.id,
                b.segment_number == segment.number,
                b.generation == segment.generation,
                b.members != 0,
            )
        ).all()
    assert dict(counts) == Counter(bucket_of(i) for i in ids)
    assert segment.member_total == sum(n for _bucket, n in counts)


@pytest.mark.parametrize("limit", [1, 4, 10, 100])
def test_every_offset_gives_the_sorted_slice(
    db: Database, db_url: str, tenant: Tenant, limit: int
) -> None:
    segment_id, ids = published_segment(db, db_url, tenant)
    segment = segment_of(db, tenant, segment_id)
    assert len({bucket_of(i) for i in ids}) > 5
    assert_counts_match_rows(db, tenant, segment)
    pages = all_pages(db, segment, limit)
    assert pages == [(ids[offset : offset + limit], len(ids)) for offset in range(len(ids) + 2)]


def test_pages_follow_members_removed_by_hand(db: Database, db_url: str, tenant: Tenant) -> None:
    segment_id, ids = published_segment(db, db_url, tenant)
    gone = [ids[0], ids[7], ids[-1], member_id(1)]  # member_id(1) was not in the segment
    with db.write() as conn:
        assert remove_members(conn, tenant.id, segment_id, gone) == 3
    left = [i for i in ids if i not in gone]
    segment = segment_of(db, tenant, segment_id)
    assert_counts_match_rows(db, tenant, segment)
    pages = all_pages(db, segment, 3)
    assert pages == [(left[offset : offset + 3], len(left)) for offset in range(len(left) + 2)]


def test_pages_follow_real_time_updates_and_rebuilds(
    db: Database, db_url: str, tenant: Tenant
) -> None:
    segment_id, ids = published_segment(db, db_url, tenant)
    settings = test_settings(db_url)
    joining, leaving = member_id(MEMBERS - 1), ids[3]
    with db.write() as conn:
        list_id = default_list_id(conn, tenant.id)
        changes = [
            {"email": f"m{MEMBERS - 1}@page.test", "name": "now m"},
            {"email": "m6@page.test", "name": "gone"},
        ]
        upsert_members(
            conn, tenant.id, list_id, changes,
            update_existing=True, tag_flag=TagFlag.OVERWRITE, tz=settings.tz,
        )  # fmt: skip
    expected = sorted({*ids, joining} - {leaving})
    segment = segment_of(db, tenant, segment_id)
    assert_counts_match_rows(db, tenant, segment)
    assert all_pages(db, segment, 4)[: len(expected)] == [
        (expected[o : o + 4], len(expected)) for o in range(len(expected))
    ]
    with db.write() as conn:
        condition = stored_condition(conn, tenant.id, CONDITION)
        redefine_segment(
            conn, tenant.id, segment_id, name=None, segment_type=0, condition=condition
        )
    run_pending(db, small_chunks(db_url, 7))
    in_place = segment_of(db, tenant, segment_id)  # a rebuild of a published segment
    assert in_place.generation == segment.generation
    assert_counts_match_rows(db, tenant, in_place)
    with db.snapshot() as conn:
        assert member_page(conn, in_place, offset=0, limit=100)[0] == expected
    with db.write() as conn:
        enqueue_build(conn, tenant.id, segment_id)
    run_pending(db, small_chunks(db_url, 7).model_copy(update={"rebuild_in_place_limit": 0}))
    rebuilt = segment_of(db, tenant, segment_id)  # a new generation, built by range
    assert rebuilt.generation > segment.generation
    assert_counts_match_rows(db, tenant, rebuilt)
    with db.snapshot() as conn:
        assert member_page(conn, rebuilt, offset=0, limit=100)[0] == expected
    b = segment_buckets.c
    with db.read() as conn:  # the old generation's counts went with its rows
        left = conn.execute(
            sa.select(sa.func.count()).where(
                b.segment_number == rebuilt.number, b.generation != rebuilt.generation
            )
        ).scalar_one()
    assert left == 0


def test_a_filtered_page_is_sorted_and_counted(db: Database, db_url: str, tenant: Tenant) -> None:
    segment_id, ids = published_segment(db, db_url, tenant)
    segment = segment_of(db, tenant, segment_id)
    with db.read() as conn:
        values = {row.id: row.n1 for row in conn.execute(sa.select(members.c.id, members.c.n1))}
        where = members.c.n1 == 1.0
        wanted = [i for i in ids if values[i] == 1.0]
        pages = [member_page(conn, segment, where=where, offset=o, limit=2) for o in range(9)]
    assert pages == [(wanted[o : o + 2], len(wanted)) for o in range(9)]


def test_end_buckets_recounted_at_once_are_exact(db: Database, db_url: str, tenant: Tenant) -> None:
    """PostgreSQL's build steps recount the buckets at their ranges' ends in one drop and one
    count (``buckets.recount_listed``): wrong, missing and stale counts of any buckets, empty
    ones among them, come out as the rows say. SQLite's steps count from the rows directly."""
    if db.is_sqlite:
        pytest.skip("the listed recount is PostgreSQL's (SQLite's builds recount each range)")
    segment_id, ids = published_segment(db, db_url, tenant)
    segment = segment_of(db, tenant, segment_id)
    mine = (tenant.id, segment.number, segment.generation)
    filled = sorted({bucket_of(i) for i in ids})
    empty = next(n for n in range(filled[0], filled[-1]) if n not in filled)
    b = segment_buckets.c
    with db.write() as conn:
        generation = (
            b.tenant_id == tenant.id,
            b.segment_number == segment.number,
            b.generation == segment.generation,
        )
        conn.execute(sa.delete(segment_buckets).where(*generation, b.bucket == filled[0]))
        conn.execute(sa.update(segment_buckets).where(*generation).values(members=99))
        conn.execute(sa.insert(segment_buckets).values((*mine, empty, 5)))
    with db.write() as conn:
        buckets.recount_listed(conn, *mine, [*filled, empty])
    assert_counts_match_rows(db, tenant, segment)
    with db.read() as conn:
        found = conn.execute(sa.select(b.bucket).where(*generation, b.bucket == empty)).all()
    assert found == []


@pytest.mark.parametrize("share", [0.0, 1.0], ids=["complement", "plain"])
def test_ranges_holding_whole_buckets_fill_from_one_statement_exactly(
    db: Database, db_url: str, tenant: Tenant, share: float
) -> None:
    """Chunks of 5 members span whole buckets, which PostgreSQL fills from one statement per
    job (``fill_template``, the range as parameters): in either stored form, and again with a
    member removed by hand, the rows, counts and pages are those of the condition."""
    segment_id, ids = published_segment(db, db_url, tenant, share)
    segment = segment_of(db, tenant, segment_id)
    assert segment.horizon > 0 if share == 0.0 else segment.horizon == 0
    assert held(db, segment_id) == ids
    assert_counts_match_rows(db, tenant, segment)
    with db.write() as conn:
        assert remove_members(conn, tenant.id, segment_id, [ids[2]]) == 1
        condition = stored_condition(conn, tenant.id, CONDITION)
        redefine_segment(
            conn, tenant.id, segment_id, name=None, segment_type=0, condition=condition
        )
    # A new generation (not in place), to fill from the statement again.
    run_pending(db, small_chunks(db_url, 5, share).model_copy(update={"rebuild_in_place_limit": 0}))
    rebuilt = segment_of(db, tenant, segment_id)
    assert rebuilt.generation > segment.generation
    expected = [i for i in ids if i != ids[2]]
    assert held(db, segment_id) == expected
    assert_counts_match_rows(db, tenant, rebuilt)
    assert all_pages(db, rebuilt, 100)[0] == (expected, len(expected))
