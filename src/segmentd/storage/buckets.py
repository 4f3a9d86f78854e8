"""Bucket counts: how many members a generation holds per bucket of ``BUCKET_SIZE`` member ids.

The EngageLab members API pages by offset, and neither database finds the n-th entry of an
index without walking to it. A page instead sums the counts of the buckets before it (a few
hundred rows at a million members), seeks the first id of its bucket and walks at most one
bucket. Every writer of ``segment_members`` keeps the counts exact in the same transaction:
builds recount the buckets their chunk touched (so a repeated chunk stays exact), real-time
updates and removals add their deltas, and deletes of a generation take its buckets along.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Connection

from .schema import segment_buckets, segment_members

BUCKET_BITS = 12
BUCKET_SIZE = 1 << BUCKET_BITS


def bucket_of(member_id: int) -> int:
    return member_id >> BUCKET_BITS


def _recount_statements() -> tuple[sa.Delete, sa.Insert]:
    """Built once: a build runs them for every chunk (construction costs more than the SQL)."""
    b, sm = segment_buckets.c, segment_members.c
    mine: dict[str, sa.BindParameter[Any]] = {
        name: sa.bindparam(name) for name in ("tenant_id", "segment_number", "generation")
    }
    first: sa.BindParameter[int] = sa.bindparam("first")
    last: sa.BindParameter[int] = sa.bindparam("last")
    delete = sa.delete(segment_buckets).where(
        *(b[name] == value for name, value in mine.items()), b.bucket >= first, b.bucket <= last
    )
    bucket = sm.member_id // BUCKET_SIZE
    counted = (
        sa.select(sm.tenant_id, sm.segment_number, sm.generation, bucket, sa.func.count())
        .where(
            *(sm[name] == value for name, value in mine.items()),
            sm.member_id >= first * BUCKET_SIZE,
            sm.member_id < (last + 1) * BUCKET_SIZE,
        )
        .group_by(sm.tenant_id, sm.segment_number, sm.generation, bucket)
    )
    columns = ["tenant_id", "segment_number", "generation", "bucket", "members"]
    return delete, sa.insert(segment_buckets).from_select(columns, counted)


_DROP_COUNTS, _COUNT_ROWS = _recount_statements()


def recount(
    conn: Connection, tenant_id: int, segment_number: int, generation: int, lo: int, hi: int
) -> None:
    """Recount, from the rows, every bucket that overlaps the member ids (lo, hi]."""
    recount_buckets(conn, tenant_id, segment_number, generation, bucket_of(lo + 1), bucket_of(hi))


def recount_buckets(
    conn: Connection, tenant_id: int, segment_number: int, generation: int, first: int, last: int
) -> None:
    """Recount, from the rows, the buckets ``first`` to ``last``."""
    if first > last:
        return
    params = _params(tenant_id, segment_number, generation, first, last)
    for statement in (_DROP_COUNTS, _COUNT_ROWS):
        conn.execute(statement, params)


def _params(
    tenant_id: int, segment_number: int, generation: int, first: int, last: int
) -> dict[str, int]:
    return {
        "tenant_id": tenant_id,
        "segment_number": segment_number,
        "generation": generation,
        "first": first,
        "last": last,
    }


def insert_counted(
    conn: Connection,
    insert: sa.Insert,
    tenant_id: int,
    segment_number: int,
    generation: int,
    first: int,
    last: int,
) -> None:
    """PostgreSQL: run ``insert`` (rows of ``segment_members``, all of this generation) and
    count the buckets ``first`` to ``last`` from the rows it returns, in one statement.

    A recount would read the rows back from the index the insert just grew (issue #5: an
    eighth of a build's time). Every row of those buckets must come from ``insert``.
    """
    if first > last:
        conn.execute(insert)
        return
    conn.execute(_DROP_COUNTS, _params(tenant_id, segment_number, generation, first, last))
    added = insert.returning(segment_members.c.member_id).cte("added")
    bucket = added.c.member_id // BUCKET_SIZE
    counted = (
        sa.select(
            sa.literal(tenant_id, sa.BigInteger),
            sa.literal(segment_number, sa.BigInteger),
            sa.literal(generation, sa.BigInteger),
            bucket,
            sa.func.count(),
        )
        .where(bucket >= first, bucket <= last)
        .group_by(bucket)
    )
    columns = ["tenant_id", "segment_number", "generation", "bucket", "members"]
    conn.execute(sa.insert(segment_buckets).from_select(columns, counted).add_cte(added))


def inner_buckets(lo: int, hi: int) -> tuple[int, int]:
    """(first, last) of the buckets whose every id lies in (lo, hi]; first > last if none."""
    # The first bucket starting at or after lo + 1; the last one ending at or before hi.
    return bucket_of(lo + BUCKET_SIZE), bucket_of(hi + 1) - 1


def _adjust_statement(dialect: Any) -> sa.Insert:
    insert = dialect.insert(segment_buckets)
    return insert.on_conflict_do_update(
        index_elements=["tenant_id", "segment_number", "generation", "bucket"],
        set_={"members": segment_buckets.c.members + insert.excluded.members},
    )


_ADJUST = {"postgresql": _adjust_statement(postgresql), "sqlite": _adjust_statement(sqlite)}


def adjust(
    conn: Connection,
    tenant_id: int,
    added: Iterable[tuple[int, int, int]] = (),
    removed: Iterable[tuple[int, int, int]] = (),
) -> None:
    """Count rows (segment number, generation, member id) added and removed (ones that really
    changed), in any segments: one statement."""
    rows = [
        {
            "tenant_id": tenant_id,
            "segment_number": number,
            "generation": generation,
            "bucket": bucket,
            "members": delta,
        }
        for number, generation, bucket, delta in deltas(added, removed)
    ]
    if rows:
        conn.execute(_ADJUST[conn.dialect.name], rows)


def deltas(
    added: Iterable[tuple[int, int, int]], removed: Iterable[tuple[int, int, int]]
) -> list[tuple[int, int, int, int]]:
    """(segment number, generation, bucket, change in members) for the buckets rows added and
    removed change, each bucket once, in key order (as writers lock them)."""
    found: Counter[tuple[int, int, int]] = Counter((s, g, bucket_of(m)) for s, g, m in added)
    found.subtract((s, g, bucket_of(m)) for s, g, m in removed)
    return [(s, g, bucket, delta) for (s, g, bucket), delta in sorted(found.items()) if delta]


def locate(
    conn: Connection, tenant_id: int, segment_number: int, generation: int, offset: int
) -> tuple[int, int]:
    """(first member id of the bucket holding the ``offset``-th member, members to skip in it).

    Past the last member, the answer lies past every bucket (the page is empty).
    """
    b = segment_buckets.c
    rows = conn.execute(
        sa.select(b.bucket, b.members)
        .where(
            b.tenant_id == tenant_id, b.segment_number == segment_number, b.generation == generation
        )
        .order_by(b.bucket)
    )
    before = 0
    bucket = -1
    for bucket, members in rows:
        if before + members > offset:
            return int(bucket) * BUCKET_SIZE, offset - before
        before += members
    return (bucket + 1) * BUCKET_SIZE, offset - before


def total(conn: Connection, tenant_id: int, segment_number: int, generation: int) -> int:
    """The generation's members: the counts are exact, and cheaper to sum than the rows."""
    b = segment_buckets.c
    found = conn.execute(
        sa.select(sa.func.coalesce(sa.func.sum(b.members), 0)).where(
            b.tenant_id == tenant_id, b.segment_number == segment_number, b.generation == generation
        )
    ).scalar_one()
    return int(found)


def drop(conn: Connection, tenant_id: int, segment_number: int, generation: int) -> None:
    """Delete the counts of one generation of a segment."""
    b = segment_buckets.c
    conn.execute(
        sa.delete(segment_buckets).where(
            b.tenant_id == tenant_id, b.segment_number == segment_number, b.generation == generation
        )
    )
