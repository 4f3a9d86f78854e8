"""Segments: create, update, read, list, delete.

Their members are the membership's (``segmentd.membership``): readers only ever see the
segment's published ``generation``; a build fills the next generation beside it. Every
function takes the caller's transaction.
"""

from __future__ import annotations

import json
from collections.abc import Collection, Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection
from sqlalchemy.sql import ColumnElement

from ..domain.operators import fold
from ..domain.segment_kinds import SegmentKind
from ..domain.statuses import SegmentStatus
from ..random_ids import new_commandersact_id, new_segment_id
from ..timefmt import now
from .catalog import catalog_changed
from .schema import (
    build_jobs,
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
    # Whether days passing can change its members (relative dates, recency): refreshed daily.
    time_dependent: bool = False
    # When its published membership was last made exact: its build's publish or the last
    # daily refresh (epoch seconds; None before the first publish).
    exact_at: int | None = None
    kind: SegmentKind = SegmentKind.DYNAMIC  # static: members given by hand, never built


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
        time_dependent=bool(m["time_dependent"]),
        exact_at=m["exact_at"],
        kind=SegmentKind(m["kind"]),
    )


def is_segment(tenant_id: int, segment_id: str) -> ColumnElement[bool]:
    """The row of the tenant's segment ``segment_id`` (a WHERE clause)."""
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
    kind: SegmentKind = SegmentKind.DYNAMIC,
) -> str:
    """Insert a segment; return its id. A dynamic one is building: its first build is
    queued by the caller (``services.segment_service``), in the same transaction. A static
    one is born complete, its published generation 1 empty until members are given.

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
    static = kind is SegmentKind.STATIC
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
            status=SegmentStatus.COMPLETE if static else SegmentStatus.BUILDING,
            percent=100 if static else 0,
            generation=1 if static else 0,
            member_total=0,
            created_at=created,
            updated_at=created,
            built_at=created if static else None,
            kind=kind,
        )
    )
    catalog_changed(conn, tenant_id)  # conditions may refer to it now
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
    """Save a new definition; False when the tenant has no such segment. The caller queues
    the rebuild (``services.segment_service``); the published membership and its total stay
    readable until it swaps in.
    """
    lock_tenant_writes(conn, tenant_id)
    values: dict[str, Any] = {
        "segment_type": segment_type,
        "condition": json.dumps(condition),
        "updated_at": now(),
    }
    if name is not None:
        values["name"] = name
    result = conn.execute(
        sa.update(segments).where(is_segment(tenant_id, segment_id)).values(values)
    )
    if not result.rowcount:
        return False
    catalog_changed(conn, tenant_id)  # its name and references are the catalog's
    return True


def rename_segment(conn: Connection, tenant_id: int, segment_id: str, name: str) -> bool:
    """Change only the name (a static segment's, which has no definition to rebuild)."""
    lock_tenant_writes(conn, tenant_id)
    renamed = conn.execute(
        sa.update(segments)
        .where(is_segment(tenant_id, segment_id))
        .values(name=name, updated_at=now())
    )
    if not renamed.rowcount:
        return False
    catalog_changed(conn, tenant_id)
    return True


def segment_named(conn: Connection, tenant_id: int, name: str) -> str | None:
    """The id of a segment of the tenant with exactly this name (the oldest), if any."""
    s = segments.c
    query = (
        sa.select(s.id)
        .where(s.tenant_id == tenant_id, s.name == name)
        .order_by(s.created_at, s.id)
        .limit(1)
    )
    return conn.execute(query).scalar()


def set_commandersact_id(
    conn: Connection, tenant_id: int, segment_id: str, commandersact_id: str | None
) -> bool:
    """Give the segment another Commanders Act id (None: a random free one); False when the
    tenant uses it already."""
    lock_tenant_writes(conn, tenant_id)
    if commandersact_id is None:
        commandersact_id = _random_commandersact_id(conn, tenant_id)
    elif commandersact_id_taken(conn, tenant_id, commandersact_id):
        return False
    conn.execute(
        sa.update(segments)
        .where(is_segment(tenant_id, segment_id))
        .values(commandersact_id=commandersact_id, updated_at=now())
    )
    catalog_changed(conn, tenant_id)  # the look-up answers by this id
    return True


def get_segment(
    conn: Connection, tenant_id: int, segment_id: str, *, for_update: bool = False
) -> Segment | None:
    query = sa.select(segments).where(is_segment(tenant_id, segment_id))
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
    list_id: int | None = None,
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
    if list_id is not None:
        filters.append(segments.c.list_id == list_id)
    total = conn.execute(sa.select(sa.func.count()).where(*filters)).scalar_one()
    rows = conn.execute(
        sa.select(segments)
        .where(*filters)
        .order_by(segments.c.created_at.desc(), segments.c.id.desc())
        .offset(offset)
        .limit(limit)
    )
    return [_segment(row) for row in rows], int(total)


def delete_segment(
    conn: Connection, tenant_id: int, segment_id: str, *, memberships: bool = True
) -> bool:
    """Delete a segment with its memberships, exclusions and build jobs.

    ``memberships=False``: leave its membership rows and counts to the caller (the
    membership deletes them once their leaving is recorded in the history).
    """
    lock_tenant_writes(conn, tenant_id)
    deleted = sa.delete(segments).where(is_segment(tenant_id, segment_id))
    number = conn.execute(deleted.returning(segments.c.number)).scalar()
    if number is None:
        return False
    catalog_changed(conn, tenant_id)
    for table in (segment_members, segment_buckets) if memberships else ():
        conn.execute(
            sa.delete(table).where(table.c.tenant_id == tenant_id, table.c.segment_number == number)
        )
    for table in (segment_exclusions, build_jobs):
        conn.execute(
            sa.delete(table).where(table.c.tenant_id == tenant_id, table.c.segment_id == segment_id)
        )
    return True


def set_time_dependent(
    conn: Connection, tenant_id: int, segment_ids: Sequence[str], moves: bool
) -> None:
    """Record whether the segments' conditions move with time (with each write of them)."""
    if not segment_ids:
        return
    conn.execute(
        sa.update(segments)
        .where(segments.c.tenant_id == tenant_id, segments.c.id.in_(segment_ids))
        .values(time_dependent=moves)
    )


def mark_exact(
    conn: Connection, tenant_id: int, segment_ids: Sequence[str], day: date, at: int
) -> None:
    """The segments' published memberships were made exact ``at``, counting relative dates
    from ``day`` (a publish, a daily refresh)."""
    if not segment_ids:
        return
    conn.execute(
        sa.update(segments)
        .where(segments.c.tenant_id == tenant_id, segments.c.id.in_(sorted(segment_ids)))
        .values(exact_at=at, exact_day=day)
    )


def pass_day(conn: Connection, tenant_id: int, segment_ids: Sequence[str], day: date) -> None:
    """The refresh of ``day`` passed the segments by (their condition no longer loads): they
    are not due again before the next day, and their ``exact_at`` stays."""
    if not segment_ids:
        return
    conn.execute(
        sa.update(segments)
        .where(segments.c.tenant_id == tenant_id, segments.c.id.in_(sorted(segment_ids)))
        .values(exact_day=day)
    )


def published_generations(
    conn: Connection, tenant_id: int, segment_ids: Collection[str]
) -> dict[str, int]:
    """The published generation of each of ``segment_ids`` (a deleted one is left out)."""
    if not segment_ids:
        return {}
    s = segments.c
    rows = conn.execute(
        sa.select(s.id, s.generation).where(s.tenant_id == tenant_id, s.id.in_(sorted(segment_ids)))
    )
    return {row.id: int(row.generation) for row in rows}
