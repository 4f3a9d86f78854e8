"""Segments: create, update, read, list, delete; page their members; remove members by hand.

Readers only ever see the segment's published ``generation`` of ``segment_members``; a build
fills the next generation beside it. Every function takes the caller's transaction.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection
from sqlalchemy.sql import ColumnElement

from ..domain.operators import fold
from ..domain.statuses import JobState, SegmentStatus
from ..ids import new_commandersact_id, new_segment_id
from ..jobs.builds import enqueue_build
from ..timefmt import now
from . import buckets, membership
from .catalog import catalog_changed
from .schema import (
    build_jobs,
    members,
    segment_buckets,
    segment_exclusions,
    segment_members,
    segments,
    tenants,
)
from .sql_text import ascii_lower
from .write_lock import lock_tenant_writes

LIKE_ESCAPE = "\\"
RANDOM_ID_TRIES = 50  # random Commanders Act ids drawn before giving up (2**32 of them)


class CommandersActIdTaken(Exception):
    """The Commanders Act id asked for names another segment of the tenant."""


@dataclass(frozen=True)
class Segment:
    id: str
    tenant_id: int
    list_id: int
    name: str
    segment_type: int
    condition: dict[str, Any]  # the stored form (domain.stored_form)
    status: int
    percent: int
    generation: int
    member_total: int
    created_at: int
    updated_at: int
    number: int  # its key in the membership tables (``schema.segment_members``)
    horizon: int = 0  # the published generation is a complement up to it (``membership``)
    commandersact_id: str = ""  # 8 upper-case hex: the id the Commanders Act look-up answers


def _segment(row: sa.Row) -> Segment:
    m = row._mapping
    return Segment(
        id=m["id"],
        tenant_id=m["tenant_id"],
        list_id=m["list_id"],
        name=m["name"],
        segment_type=m["segment_type"],
        condition=json.loads(m["condition"]),
        status=m["status"],
        percent=m["percent"],
        generation=m["generation"],
        member_total=m["member_total"],
        created_at=m["created_at"],
        updated_at=m["updated_at"],
        number=m["number"],
        horizon=m["horizon"],
        commandersact_id=m["commandersact_id"],
    )


def _mine(tenant_id: int, segment_id: str) -> ColumnElement[bool]:
    if "\x00" in segment_id:
        return sa.false()  # names no segment, and PostgreSQL refuses NUL in text
    return sa.and_(segments.c.tenant_id == tenant_id, segments.c.id == segment_id)


def create_segment(
    conn: Connection,
    tenant_id: int,
    *,
    list_id: int,
    name: str,
    segment_type: int,
    condition: dict[str, Any],
    commandersact_id: str | None = None,
) -> str:
    """Insert a segment (status building) and enqueue its first build; return its id.

    ``commandersact_id`` (8 upper-case hex) keeps a migrated segment's Commanders Act id;
    without it one is drawn at random. Raises ``CommandersActIdTaken`` when the tenant uses
    it already.
    """
    lock_tenant_writes(conn, tenant_id)
    if commandersact_id is None:
        commandersact_id = _random_commandersact_id(conn, tenant_id)
    elif commandersact_id_taken(conn, tenant_id, commandersact_id):
        raise CommandersActIdTaken(commandersact_id)
    segment_id, created = new_segment_id(), now()
    conn.execute(
        sa.insert(segments).values(
            id=segment_id,
            number=next_segment_number(conn, tenant_id),
            commandersact_id=commandersact_id,
            tenant_id=tenant_id,
            list_id=list_id,
            name=name,
            segment_type=segment_type,
            condition=json.dumps(condition),
            status=SegmentStatus.BUILDING,
            percent=0,
            generation=0,
            member_total=0,
            created_at=created,
            updated_at=created,
        )
    )
    enqueue_build(conn, tenant_id, segment_id)
    return segment_id


def commandersact_id_taken(conn: Connection, tenant_id: int, commandersact_id: str) -> bool:
    s = segments.c
    found = sa.select(s.number).where(
        s.tenant_id == tenant_id, s.commandersact_id == commandersact_id
    )
    return conn.execute(found).first() is not None


def _random_commandersact_id(conn: Connection, tenant_id: int) -> str:
    """A random id the tenant does not use (its writes are locked: nobody takes it meanwhile)."""
    for _ in range(RANDOM_ID_TRIES):
        candidate = new_commandersact_id()
        if not commandersact_id_taken(conn, tenant_id, candidate):
            return candidate
    raise RuntimeError("no free Commanders Act id found")


def next_segment_number(conn: Connection, tenant_id: int) -> int:
    """A segment number the tenant never used: a deleted segment's is not given out again,
    so rows a build wrote after the delete can never look like a new segment's."""
    t = tenants.c
    number = conn.execute(
        sa.update(tenants)
        .where(t.id == tenant_id)
        .values(last_segment_number=t.last_segment_number + 1)
        .returning(t.last_segment_number)
    ).scalar()
    if number is None:
        raise LookupError(f"tenant {tenant_id} does not exist")
    return int(number)


def update_segment(
    conn: Connection,
    tenant_id: int,
    segment_id: str,
    *,
    name: str | None,
    segment_type: int,
    condition: dict[str, Any],
) -> bool:
    """Save a new definition and enqueue a rebuild; False when the tenant has no such segment.

    The published membership and its total stay readable until the rebuild swaps in
    (``enqueue_build`` marks the segment building).
    """
    lock_tenant_writes(conn, tenant_id)
    values: dict[str, Any] = {
        "segment_type": segment_type,
        "condition": json.dumps(condition),
        "updated_at": now(),
    }
    if name is not None:
        values["name"] = name
    result = conn.execute(sa.update(segments).where(_mine(tenant_id, segment_id)).values(values))
    if result.rowcount == 0:
        return False
    enqueue_build(conn, tenant_id, segment_id)
    return True


def get_segment(
    conn: Connection, tenant_id: int, segment_id: str, *, for_update: bool = False
) -> Segment | None:
    query = sa.select(segments).where(_mine(tenant_id, segment_id))
    if for_update:
        query = query.with_for_update()  # PostgreSQL; SQLite writers are already serialized
    row = conn.execute(query).first()
    return _segment(row) if row else None


def like_contains(text: str) -> str:
    """A LIKE pattern matching ``text`` literally anywhere (its own wildcards escaped)."""
    for special in (LIKE_ESCAPE, "%", "_"):
        text = text.replace(special, LIKE_ESCAPE + special)
    return f"%{text}%"


def list_segments(
    conn: Connection,
    tenant_id: int,
    *,
    name_contains: str | None = None,
    segment_type: int | None = None,
    offset: int = 0,
    limit: int = 10,
) -> tuple[list[Segment], int]:
    """One page of the tenant's segments, newest first, and how many match in all.

    ``name_contains`` matches case-insensitively (ASCII letters, as everywhere else).
    """
    filters: list[ColumnElement[bool]] = [segments.c.tenant_id == tenant_id]
    if name_contains and "\x00" in name_contains:
        filters.append(sa.false())  # no name holds NUL, and PostgreSQL refuses it in a pattern
    elif name_contains:
        pattern = like_contains(fold(name_contains))
        filters.append(ascii_lower(segments.c.name).like(pattern, escape=LIKE_ESCAPE))
    if segment_type is not None:
        filters.append(segments.c.segment_type == segment_type)
    total = conn.execute(sa.select(sa.func.count()).where(*filters)).scalar_one()
    rows = conn.execute(
        sa.select(segments)
        .where(*filters)
        .order_by(segments.c.created_at.desc(), segments.c.id.desc())
        .offset(offset)
        .limit(limit)
    )
    return [_segment(row) for row in rows], int(total)


def delete_segment(conn: Connection, tenant_id: int, segment_id: str) -> bool:
    """Delete a segment with its memberships, exclusions and build jobs."""
    lock_tenant_writes(conn, tenant_id)
    deleted = sa.delete(segments).where(_mine(tenant_id, segment_id))
    number = conn.execute(deleted.returning(segments.c.number)).scalar()
    if number is None:
        return False
    catalog_changed(conn, tenant_id)
    for table in (segment_members, segment_buckets):
        conn.execute(
            sa.delete(table).where(table.c.tenant_id == tenant_id, table.c.segment_number == number)
        )
    for table in (segment_exclusions, build_jobs):
        conn.execute(
            sa.delete(table).where(table.c.tenant_id == tenant_id, table.c.segment_id == segment_id)
        )
    return True


def _generation_rows(segment: Segment, generation: int) -> list[ColumnElement[bool]]:
    sm = segment_members.c
    return [
        sm.tenant_id == segment.tenant_id,
        sm.segment_number == segment.number,
        sm.generation == generation,
    ]


def _published_rows(segment: Segment) -> ColumnElement[bool]:
    """Rows of the generation published when the statement runs (a swap may have happened)."""
    published = (
        sa.select(segments.c.generation)
        .where(_mine(segment.tenant_id, segment.id))
        .scalar_subquery()
    )
    sm = segment_members.c
    return sa.and_(
        sm.tenant_id == segment.tenant_id,
        sm.segment_number == segment.number,
        sm.generation == published,
    )


def member_page(
    conn: Connection,
    segment: Segment,
    *,
    where: ColumnElement[bool] | None = None,
    offset: int = 0,
    limit: int = 10,
) -> tuple[list[int], int]:
    """Ids of one page of the published members (by id) that satisfy ``where``, and their count.

    ``where`` is a boolean over ``members`` (``storage.compiler.compile_condition``).
    """
    sm = segment_members.c
    # Performance (issue #5): without a filter, page the published rows alone (an index-only
    # scan of their primary key) and take the total the segment keeps; ordering by
    # sm.member_id rather than members.id lets both databases walk that index in order
    # instead of sorting the whole joined membership.
    if where is None:
        return _unfiltered_page(conn, segment, offset, limit), segment.member_total
    if segment.horizon > 0:
        held = membership.held_matching(*_published_key(segment), segment.horizon, where)
        found = held.subquery()
        query = sa.select(found.c.id)
        order: ColumnElement[Any] = found.c.id
    else:
        query = (
            sa.select(members.c.id)
            .select_from(
                segment_members.join(
                    members,
                    sa.and_(members.c.tenant_id == sm.tenant_id, members.c.id == sm.member_id),
                )
            )
            .where(_published_rows(segment), where)
        )
        order = sm.member_id
    total = conn.execute(sa.select(sa.func.count()).select_from(query.subquery())).scalar_one()
    ids = conn.execute(query.order_by(order).offset(offset).limit(limit)).scalars()
    return [int(member_id) for member_id in ids], int(total)


def _published_key(segment: Segment) -> tuple[int, int, int, int]:
    """(tenant, list, number, generation) of the published generation, as ``membership``
    takes them. Run in a snapshot (``Database.snapshot``) with ``segment`` read in it."""
    return segment.tenant_id, segment.list_id, segment.number, segment.generation


def _unfiltered_page(conn: Connection, segment: Segment, offset: int, limit: int) -> list[int]:
    """One page of the published ids: the bucket counts say where the page starts (issue #5),
    so a page costs a seek and a walk of at most one bucket at any offset.

    Run in a snapshot (``Database.snapshot``): counts, rows and ``segment`` must agree.
    """
    start, skip = buckets.locate(
        conn, segment.tenant_id, segment.number, segment.generation, offset
    )
    held = membership.held_ids(*_published_key(segment), segment.horizon, start)
    ids = conn.execute(held.offset(skip).limit(limit)).scalars()
    return [int(member_id) for member_id in ids]


def remove_members(
    conn: Connection, tenant_id: int, segment_id: str, member_ids: Sequence[int]
) -> int | None:
    """Take members out of a segment for good; return how many left the published membership.

    Ids that are members of the segment's list are recorded as exclusions, so later builds
    leave them out, and leave every live generation, including a build's generation being
    filled. None when the tenant has no such segment.
    """
    segment = get_segment(conn, tenant_id, segment_id, for_update=True)
    if segment is None:
        return None
    ids = _listed(conn, segment, sorted(set(member_ids)))
    if not ids:
        return 0
    _exclude(conn, segment, ids)
    removed = 0
    for generation, horizon in _live_generations(conn, segment):
        gone = _take_out(conn, segment, generation, horizon, ids)
        if generation == segment.generation:
            removed = gone
    if removed:
        conn.execute(
            sa.update(segments)
            .where(_mine(tenant_id, segment_id))
            .values(member_total=segments.c.member_total - removed)
        )
    return removed


def _live_generations(conn: Connection, segment: Segment) -> list[tuple[int, int]]:
    """(generation, horizon) of the published generation and of queued or running builds:
    stale ones are never read, and their rows are deleted whole
    (``jobs.builds.drop_stale_generations``)."""
    jobs = build_jobs.c
    building = conn.execute(
        sa.select(jobs.generation, jobs.complement, jobs.cursor).where(
            jobs.tenant_id == segment.tenant_id,
            jobs.segment_id == segment.id,
            jobs.state.in_([JobState.QUEUED, JobState.RUNNING]),
        )
    ).all()
    found = {
        int(gen): membership.build_horizon(complement, int(cursor))
        for gen, complement, cursor in building
    }
    if segment.generation > 0:
        found[segment.generation] = segment.horizon
    return sorted(found.items())


def _take_out(
    conn: Connection, segment: Segment, generation: int, horizon: int, ids: list[int]
) -> int:
    """Take these list members out of one generation, with their bucket counts; how many
    were in it. A complement gains their rows; the plain form loses them."""
    sm = segment_members.c
    key = _generation_rows(segment, generation)
    found = conn.execute(sa.select(sm.member_id).where(*key, sm.member_id.in_(ids))).scalars()
    present = set(found)
    held = [m for m in ids if membership.holds(m in present, m, horizon)]
    if not held:
        return 0
    dropped = [m for m in held if m in present]
    if dropped:
        conn.execute(sa.delete(segment_members).where(*key, sm.member_id.in_(dropped)))
    added = [m for m in held if m not in present]
    if added:
        conn.execute(
            sa.insert(segment_members),
            [
                {
                    "tenant_id": segment.tenant_id,
                    "segment_number": segment.number,
                    "generation": generation,
                    "member_id": member_id,
                }
                for member_id in added
            ],
        )
    removed = [(segment.number, generation, member_id) for member_id in held]
    buckets.adjust(conn, segment.tenant_id, removed=removed)
    return len(held)


def _listed(conn: Connection, segment: Segment, ids: list[int]) -> list[int]:
    """Those of ``ids`` that are members of the segment's list."""
    if not ids:
        return []
    listed = conn.execute(
        sa.select(members.c.id).where(
            members.c.tenant_id == segment.tenant_id,
            members.c.list_id == segment.list_id,
            members.c.id.in_(ids),
        )
    ).scalars()
    return sorted(int(member_id) for member_id in listed)


def _exclude(conn: Connection, segment: Segment, ids: list[int]) -> None:
    """Record exclusions of ``ids``, members of the segment's list."""
    ex = segment_exclusions.c
    already = set(
        conn.execute(
            sa.select(ex.member_id).where(
                ex.tenant_id == segment.tenant_id,
                ex.segment_id == segment.id,
                ex.member_id.in_(ids),
            )
        ).scalars()
    )
    rows = [
        {"tenant_id": segment.tenant_id, "segment_id": segment.id, "member_id": member_id}
        for member_id in ids
        if member_id not in already
    ]
    if rows:
        conn.execute(sa.insert(segment_exclusions), rows)


def published_member_ids(
    conn: Connection, segment: Segment, batch: int = 500
) -> Iterator[list[int]]:
    """The published members of ``segment`` in id order, ``batch`` at a time (keyset paging).

    Run inside ``Database.snapshot()``: a build publishing meanwhile cannot cut it short.
    """
    after = 0
    while True:
        held = membership.held_ids(*_published_key(segment), segment.horizon, after + 1)
        ids = [int(member_id) for member_id in conn.execute(held.limit(batch)).scalars()]
        if not ids:
            return
        yield ids
        after = ids[-1]
