"""Stale generations: their deletion, in short transactions of their own.

A stale generation is every generation of a segment but the published one and those of its
queued or running build. Generation numbers only grow and a build is enqueued with one above
every number used, so a stale generation never becomes live again, and no writer adds rows
to one: deleting them needs no lock, only short transactions. They are deleted after a
publish (or a failure) rather than inside it, which would hold SQLite's write lock for the
whole old membership; a cleanup cut short by a crash is finished by the next one or by a
sweep.
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from ..domain.statuses import JobState
from ..storage.db import Database
from ..storage.schema import build_jobs, segment_buckets, segment_members, segments
from . import buckets

STALE_CHUNK = 20_000  # stale membership rows deleted per transaction
NO_GENERATION = 2**62  # above any generation: the bound when no build is live


def drop_stale_generations(
    db: Database, tenant_id: int, segment_id: str, chunk: int = STALE_CHUNK
) -> int:
    """Delete a segment's stale rows, ``chunk`` rows per transaction; return how many."""
    deleted = 0
    while True:
        with db.write() as conn:
            count = _drop_stale_chunk(conn, tenant_id, segment_id, chunk)
        if count == 0:
            return deleted
        deleted += count


def sweep_stale_generations(db: Database, chunk: int = STALE_CHUNK) -> int:
    """Finish every interrupted cleanup, across tenants; return the rows deleted."""
    with db.read() as conn:
        found = conn.execute(
            sa.select(segments.c.tenant_id, segments.c.id).where(_has_stale_rows())
        ).all()
    return sum(drop_stale_generations(db, row.tenant_id, row.id, chunk) for row in found)


def _live_floor(tenant_id: Any, segment_id: Any) -> sa.ScalarSelect[Any]:
    """The generation of the segment's queued or running build (NULL when there is none)."""
    jobs = build_jobs.c
    return (
        sa.select(sa.func.min(jobs.generation))
        .where(
            jobs.tenant_id == tenant_id,
            jobs.segment_id == segment_id,
            jobs.state.in_([JobState.QUEUED, JobState.RUNNING]),
        )
        .correlate_except(build_jobs)  # to the segment row, in the sweep two levels up
        .scalar_subquery()
    )


def _stale_ranges(
    segment: Any, table: sa.Table = segment_members
) -> list[list[sa.ColumnElement[bool]]]:
    """Two generation ranges of ``segment`` (its row, or the columns of ``segments``), each a
    seek on the primary key: below the published one, and between it and the live build
    (every older build was superseded, failed or published)."""
    sm = table.c
    tenant_id, segment_id, published = segment.tenant_id, segment.id, segment.generation
    mine = [sm.tenant_id == tenant_id, sm.segment_number == segment.number]
    live = sa.func.coalesce(_live_floor(tenant_id, segment_id), NO_GENERATION)
    return [
        [*mine, sm.generation < published],
        [*mine, sm.generation > published, sm.generation < live],
    ]


def _has_stale_rows() -> sa.ColumnElement[bool]:
    ranges = [
        where
        for table in (segment_members, segment_buckets)
        for where in _stale_ranges(segments.c, table)
    ]
    return sa.or_(*(sa.exists().where(*where) for where in ranges))


def _drop_stale_chunk(conn: Connection, tenant_id: int, segment_id: str, chunk: int) -> int:
    """Delete up to ``chunk`` rows of one stale generation of the segment.

    A deleted segment took its rows along (``storage.segments.delete_segment``): none to find.
    """
    segment = conn.execute(
        sa.select(
            segments.c.tenant_id, segments.c.id, segments.c.number, segments.c.generation
        ).where(segments.c.tenant_id == tenant_id, segments.c.id == segment_id)
    ).first()
    if segment is None:
        return 0
    sm, number = segment_members.c, segment.number
    for where in _stale_ranges(segment):
        generation = conn.execute(
            sa.select(sm.generation).where(*where).order_by(sm.generation).limit(1)
        ).scalar()
        if generation is None:
            continue
        rows = [sm.tenant_id == tenant_id, sm.segment_number == number, sm.generation == generation]
        last = conn.execute(
            sa.select(sm.member_id).where(*rows).order_by(sm.member_id).offset(chunk - 1).limit(1)
        ).scalar()
        if last is not None:
            rows.append(sm.member_id <= last)
        # The counts of a stale generation are never read: they go with its first chunk.
        buckets.drop(conn, tenant_id, number, generation)
        return int(conn.execute(sa.delete(segment_members).where(*rows)).rowcount)
    # No stale rows are left; counts can outlive their rows (a generation emptied by
    # real-time removals), so sweep the stale counts too.
    for where in _stale_ranges(segment, table=segment_buckets):
        conn.execute(sa.delete(segment_buckets).where(*where))
    return 0
