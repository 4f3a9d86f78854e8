"""Bucket counts: how many members a generation holds per bucket of ``BUCKET_SIZE`` member ids.

The EngageLab members API pages by offset, and neither database finds the n-th entry of an
index without walking to it. A page instead sums the counts of the buckets before it (a few
hundred rows at a million members), seeks the first id of its bucket and walks at most one
bucket. Every writer of ``segment_members`` keeps the counts exact in the same transaction:
builds recount the buckets their chunk touched (so a repeated chunk stays exact), real-time
updates and removals add their deltas, and deletes of a generation take its buckets along.
The counts are of members, whichever form the rows take (``membership.complement``): for a
complement, the list's members less the rows.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Connection

from ..storage.schema import members, segment_buckets, segment_members

BUCKET_BITS = 12
BUCKET_SIZE = 1 << BUCKET_BITS
COUNTED = ["tenant_id", "segment_number", "generation", "bucket", "members"]


@dataclass(frozen=True)
class Complement:
    """A generation stored as its complement up to ``horizon`` (``membership.complement``): its
    members are counted from its list's members, less its rows."""

    list_id: int
    horizon: int


def bucket_of(member_id: int) -> int:
    return member_id >> BUCKET_BITS


def _recount_statements(listed_buckets: bool = False) -> tuple[sa.Delete, sa.Insert, sa.Insert]:
    """Built once: a build runs them for every chunk (construction costs more than the SQL).

    The drop of the buckets ``first`` to ``last``, their count from the rows, and their count
    for a complement: the list's members up to the horizon, less the rows up to it, plus the
    rows above it. ``listed_buckets`` (PostgreSQL): the same for the array ``buckets``
    instead of a span.

    Each bucket is counted on its own, an index range each (``count(*)`` of a key range walks
    the index only). Grouping the rows by ``member_id / BUCKET_SIZE`` instead made SQLite sort
    every row into a temporary b-tree, about ten times the time.
    """
    b, sm, m = segment_buckets.c, segment_members.c, members.c
    mine: dict[str, sa.BindParameter[Any]] = {
        name: sa.bindparam(name, type_=sa.BigInteger)
        for name in ("tenant_id", "segment_number", "generation")
    }
    horizon: sa.BindParameter[int] = sa.bindparam("horizon", type_=sa.BigInteger)
    chosen, numbers = _bucket_numbers(listed_buckets)
    delete = sa.delete(segment_buckets).where(
        *(b[name] == value for name, value in mine.items()), chosen
    )
    bucket = numbers.c.bucket
    in_bucket = [sm.member_id >= bucket * BUCKET_SIZE, sm.member_id < (bucket + 1) * BUCKET_SIZE]
    rows = [*(sm[name] == value for name, value in mine.items()), *in_bucket]

    def count(*where: sa.ColumnElement[bool]) -> sa.ScalarSelect[int]:
        return sa.select(sa.func.count()).where(*where).scalar_subquery()

    listed = count(
        m.tenant_id == mine["tenant_id"],
        m.list_id == sa.bindparam("list_id", type_=sa.BigInteger),
        m.id >= bucket * BUCKET_SIZE,
        m.id < (bucket + 1) * BUCKET_SIZE,
        m.id <= horizon,
    )
    held = listed - count(*rows, sm.member_id <= horizon) + count(*rows, sm.member_id > horizon)
    insert = sa.insert(segment_buckets)
    rows_counted = _counted(insert, mine, bucket, count(*rows))
    return delete, rows_counted, _counted(insert, mine, bucket, held)


def _bucket_numbers(listed_buckets: bool) -> tuple[sa.ColumnElement[bool], sa.CTE]:
    """Which buckets the statements recount: the test of ``segment_buckets.bucket`` and their
    numbers as a CTE, from ``first`` to ``last`` or (``listed_buckets``) those in ``buckets``."""
    bucket = segment_buckets.c.bucket
    if listed_buckets:
        listed = sa.bindparam("buckets", type_=postgresql.ARRAY(sa.BigInteger))
        return bucket == sa.any_(listed), sa.select(sa.func.unnest(listed).label("bucket")).cte(
            "bucket_numbers"
        )
    first: sa.BindParameter[int] = sa.bindparam("first", type_=sa.BigInteger)
    last: sa.BindParameter[int] = sa.bindparam("last", type_=sa.BigInteger)
    numbers = sa.select(sa.cast(first, sa.BigInteger).label("bucket")).cte(
        "bucket_numbers", recursive=True
    )
    numbers = numbers.union_all(sa.select(numbers.c.bucket + 1).where(numbers.c.bucket < last))
    return sa.and_(bucket >= first, bucket <= last), numbers


def _counted(
    insert: sa.Insert,
    mine: dict[str, sa.BindParameter[Any]],
    bucket: sa.ColumnElement[int],
    members_of: sa.ColumnElement[int],
) -> sa.Insert:
    """``insert`` of each numbered bucket's ``members_of``, the empty ones left out."""
    # Materialized: the filter would otherwise run the counts a second time.
    counts = (
        sa.select(bucket.label("bucket"), members_of.label("members"))
        .cte("counts")
        .prefix_with("MATERIALIZED")
    )
    return insert.from_select(
        COUNTED,
        sa.select(*mine.values(), counts.c.bucket, counts.c.members).where(counts.c.members != 0),
    )


def _listed(tenant_id: Any, list_id: Any, first: Any, last: Any) -> sa.Select[Any]:
    """(bucket, 1) for each of the list's members in the buckets ``first`` to ``last``."""
    m = members.c
    return sa.select((m.id // BUCKET_SIZE).label("bucket"), sa.literal(1).label("delta")).where(
        m.tenant_id == tenant_id,
        m.list_id == list_id,
        m.id >= first * BUCKET_SIZE,
        m.id < (last + 1) * BUCKET_SIZE,
    )


DROP_COUNTS, _COUNT_ROWS, _COUNT_COMPLEMENT = _recount_statements()
_DROP_LISTED, _COUNT_LISTED_ROWS, _COUNT_LISTED_COMPLEMENT = _recount_statements(
    listed_buckets=True
)


def recount(
    conn: Connection,
    tenant_id: int,
    segment_number: int,
    generation: int,
    lo: int,
    hi: int,
    complement: Complement | None = None,
) -> None:
    """Recount every bucket that overlaps the member ids (lo, hi]."""
    first, last = bucket_of(lo + 1), bucket_of(hi)
    recount_buckets(conn, tenant_id, segment_number, generation, first, last, complement)


def recount_buckets(
    conn: Connection,
    tenant_id: int,
    segment_number: int,
    generation: int,
    first: int,
    last: int,
    complement: Complement | None = None,
) -> None:
    """Recount the buckets ``first`` to ``last`` from the rows (and the list, for a
    ``complement``)."""
    if first > last:
        return
    params: dict[str, int] = span_params(tenant_id, segment_number, generation, first, last)
    count = _COUNT_ROWS
    if complement is not None:
        params |= {"list_id": complement.list_id, "horizon": complement.horizon}
        count = _COUNT_COMPLEMENT
    for statement in (DROP_COUNTS, count):
        conn.execute(statement, params)


def recount_listed(
    conn: Connection,
    tenant_id: int,
    segment_number: int,
    generation: int,
    listed: list[int],
    complement: Complement | None = None,
) -> None:
    """PostgreSQL: ``recount_buckets`` of the buckets ``listed``, wherever they lie, in two
    statements (a build step recounts the buckets at its ranges' ends)."""
    if not listed:
        return
    params: dict[str, Any] = {
        "tenant_id": tenant_id,
        "segment_number": segment_number,
        "generation": generation,
        "buckets": listed,
    }
    count = _COUNT_LISTED_ROWS
    if complement is not None:
        params |= {"list_id": complement.list_id, "horizon": complement.horizon}
        count = _COUNT_LISTED_COMPLEMENT
    for statement in (_DROP_LISTED, count):
        conn.execute(statement, params)


def span_params(
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
    complement: Complement | None = None,
) -> None:
    """PostgreSQL: run ``insert`` (rows of ``segment_members``, all of this generation) and
    count the buckets ``first`` to ``last`` from the rows it returns, in one statement: the
    rows themselves, or for a ``complement`` (whose horizon lies past those buckets) the
    list's members less the rows.

    A recount would read the rows back from the index the insert just grew. Every row of those
    buckets must come from ``insert``.
    """
    if first > last:
        conn.execute(insert)
        return
    conn.execute(DROP_COUNTS, span_params(tenant_id, segment_number, generation, first, last))
    conn.execute(
        counted_insert(insert, tenant_id, segment_number, generation, first, last, complement)
    )


def counted_insert(
    insert: sa.Insert,
    tenant_id: int,
    segment_number: int,
    generation: int,
    first: Any,
    last: Any,
    complement: Complement | None = None,
) -> sa.Insert:
    """``insert_counted``'s one statement: ``insert`` and the counts of the buckets ``first``
    to ``last`` (numbers, or parameters) from the rows it returns."""
    added = insert.returning(segment_members.c.member_id).cte("added")
    bucket = (added.c.member_id // BUCKET_SIZE).label("bucket")
    ours = [bucket >= first, bucket <= last]
    parts: sa.Select[Any] | sa.CompoundSelect
    if complement is None:
        parts = sa.select(bucket, sa.literal(1).label("delta")).where(*ours)
    else:
        listed = _listed(tenant_id, complement.list_id, first, last)
        parts = sa.union_all(listed, sa.select(bucket, sa.literal(-1)).where(*ours))
    both = parts.subquery()
    counted = (
        sa.select(
            sa.literal(tenant_id, sa.BigInteger),
            sa.literal(segment_number, sa.BigInteger),
            sa.literal(generation, sa.BigInteger),
            both.c.bucket,
            sa.func.sum(both.c.delta),
        )
        .group_by(both.c.bucket)
        .having(sa.func.sum(both.c.delta) != 0)
    )
    return sa.insert(segment_buckets).from_select(COUNTED, counted).add_cte(added)


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
    for bucket, count in rows:
        if before + count > offset:
            return int(bucket) * BUCKET_SIZE, offset - before
        before += count
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
