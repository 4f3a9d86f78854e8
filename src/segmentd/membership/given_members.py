"""The members of a static segment: given by hand, put into and taken out of its one
published generation (stored plain, never rebuilt) with their bucket counts and its
``member_total``, in the caller's transaction.

The caller holds the tenant's write lock and the segment row's, and has checked that the
members are on the segment's list.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence

import sqlalchemy as sa
from sqlalchemy.engine import Connection
from sqlalchemy.sql import ColumnElement

from ..storage import change_log
from ..storage.change_log import ENTERED, LEFT
from ..storage.list_members import chunk_size, one_of
from ..storage.schema import segment_members, segments
from ..storage.segments import Segment, is_segment
from . import buckets


def put_in(conn: Connection, segment: Segment, member_ids: Sequence[int]) -> list[int]:
    """Put members into the segment; return those that were not in it already."""
    joined: list[int] = []
    for chunk in _chunks(conn, member_ids):
        present = _present(conn, segment, chunk)
        joined.extend(m for m in chunk if m not in present)
    if joined:
        conn.execute(
            sa.insert(segment_members),
            [
                {
                    "tenant_id": segment.tenant_id,
                    "segment_number": segment.number,
                    "generation": segment.generation,
                    "member_id": member_id,
                }
                for member_id in joined
            ],
        )
        _count(conn, segment, joined, +1)
    return joined


def take_out(conn: Connection, segment: Segment, member_ids: Sequence[int]) -> list[int]:
    """Take members out of the segment; return those that were in it."""
    left: list[int] = []
    sm = segment_members.c
    for chunk in _chunks(conn, member_ids):
        present = sorted(_present(conn, segment, chunk))
        if present:
            conn.execute(
                sa.delete(segment_members).where(
                    *_rows(segment), one_of(conn, sm.member_id, present)
                )
            )
            left.extend(present)
    if left:
        _count(conn, segment, left, -1)
    return left


def _chunks(conn: Connection, member_ids: Sequence[int]) -> Iterator[list[int]]:
    ids, size = sorted(set(member_ids)), chunk_size(conn)
    for start in range(0, len(ids), size):
        yield ids[start : start + size]


def _rows(segment: Segment) -> list[ColumnElement[bool]]:
    if segment.horizon:
        raise ValueError(f"segment {segment.id} is stored as a complement: its members are built")
    sm = segment_members.c
    return [
        sm.tenant_id == segment.tenant_id,
        sm.segment_number == segment.number,
        sm.generation == segment.generation,
    ]


def _present(conn: Connection, segment: Segment, chunk: list[int]) -> set[int]:
    sm = segment_members.c
    found = conn.execute(
        sa.select(sm.member_id).where(*_rows(segment), one_of(conn, sm.member_id, chunk))
    )
    return {int(member_id) for member_id in found.scalars()}


def _count(conn: Connection, segment: Segment, member_ids: list[int], sign: int) -> None:
    """Count the members in or out, and stage them in the history."""
    change = ENTERED if sign > 0 else LEFT
    moved = [(segment.id, m, change) for m in member_ids]
    change_log.stage(conn, segment.tenant_id, moved, "static")
    rows = [(segment.number, segment.generation, m) for m in member_ids]
    if sign > 0:
        buckets.adjust(conn, segment.tenant_id, added=rows)
    else:
        buckets.adjust(conn, segment.tenant_id, removed=rows)
    conn.execute(
        sa.update(segments)
        .where(is_segment(segment.tenant_id, segment.id))
        .values(member_total=segments.c.member_total + sign * len(member_ids))
    )
