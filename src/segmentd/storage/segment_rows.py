"""Segment membership rows of a few members, read and changed in one batch for all segments.

Real-time updates touch a handful of members in many segments at once. Each step here is one
statement (or one ``executemany``) whatever the number of segments (issue #4: the statements
of a member change, not its rows, were its cost): one read of the members' rows and
exclusions per generation number, one delete, one insert, one bucket adjustment and one
``member_total`` update.

The statements are built once. On PostgreSQL lists go as array parameters: psycopg re-parses
a statement of more than 50 parameters on every call.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql
from sqlalchemy.engine import Connection

from . import buckets
from .schema import segment_exclusions, segment_members, segments

Row = tuple[str, int, int]  # (segment id, generation, member id)

_TENANT: sa.BindParameter[Any] = sa.bindparam("tenant_id")


def _one_of(column: sa.Column[Any], name: str, postgres: bool) -> sa.ColumnElement[bool]:
    """``column IN (:name)`` for a prebuilt statement: one array parameter on PostgreSQL."""
    if postgres:
        return column == sa.any_(sa.bindparam(name, type_=postgresql.ARRAY(column.type)))
    return column.in_(sa.bindparam(name, expanding=True))


@dataclass
class Current:
    """What the members hold now: their rows in the generations asked, and their exclusions."""

    rows: set[Row] = field(default_factory=set)
    excluded: set[tuple[str, int]] = field(default_factory=set)  # (segment id, member id)


def _current_statement(postgres: bool) -> sa.CompoundSelect:
    """One generation number's rows of some segments, with those segments' exclusions."""
    sm, ex = segment_members.c, segment_exclusions.c
    rows = sa.select(sm.segment_id, sm.generation, sm.member_id).where(
        sm.tenant_id == _TENANT,
        _one_of(sm.segment_id, "segment_ids", postgres),
        sm.generation == sa.bindparam("generation"),
        _one_of(sm.member_id, "member_ids", postgres),
    )
    # An exclusion holds for every generation: NULL marks it.
    excluded = sa.select(ex.segment_id, sa.null().label("generation"), ex.member_id).where(
        ex.tenant_id == _TENANT,
        _one_of(ex.segment_id, "segment_ids", postgres),
        _one_of(ex.member_id, "member_ids", postgres),
    )
    return sa.union_all(rows, excluded)


_CURRENT = {postgres: _current_statement(postgres) for postgres in (False, True)}
# Point deletes, run as one ``executemany`` (a pipeline on psycopg): a tuple IN list would
# not reach SQLite's primary key.
_DELETE = sa.delete(segment_members).where(
    *(
        segment_members.c[name] == sa.bindparam(f"b_{name}")
        for name in ("tenant_id", "segment_id", "generation", "member_id")
    )
)
_ADD_TO_TOTAL = (
    sa.update(segments)
    .where(segments.c.tenant_id == sa.bindparam("tenant"), segments.c.id == sa.bindparam("segment"))
    .values(member_total=segments.c.member_total + sa.bindparam("delta"))
)


def _on_postgres(conn: Connection) -> bool:
    return conn.dialect.name == "postgresql"


def read_current(
    conn: Connection,
    tenant_id: int,
    member_ids: Sequence[int],
    generations: Sequence[tuple[str, int]],
) -> Current:
    """The members' rows in the (segment id, generation) pairs, and their exclusions from
    those segments: one statement per generation number (segments built as often share
    one), each row a seek on the primary key."""
    found = Current()
    by_generation: dict[int, list[str]] = {}
    for segment_id, generation in generations:
        by_generation.setdefault(generation, []).append(segment_id)
    statement = _CURRENT[_on_postgres(conn)]
    for generation, segment_ids in sorted(by_generation.items()):
        params = {
            "tenant_id": tenant_id,
            "segment_ids": segment_ids,
            "generation": generation,
            "member_ids": list(member_ids),
        }
        for segment_id, found_generation, member_id in conn.execute(statement, params):
            if found_generation is None:
                found.excluded.add((segment_id, member_id))
            else:
                found.rows.add((segment_id, generation, member_id))
    return found


def apply_changes(
    conn: Connection,
    tenant_id: int,
    added: Sequence[Row],
    removed: Sequence[Row],
    published: dict[str, int],
) -> None:
    """Insert ``added``, delete ``removed`` (rows that really change), keep the bucket counts
    and the ``member_total`` of each segment's ``published`` generation exact."""
    if removed:
        conn.execute(
            _DELETE,
            [
                {"b_tenant_id": tenant_id, "b_segment_id": s, "b_generation": g, "b_member_id": m}
                for s, g, m in removed
            ],
        )
    if added:
        conn.execute(
            sa.insert(segment_members),
            [
                {"tenant_id": tenant_id, "segment_id": s, "generation": g, "member_id": m}
                for s, g, m in added
            ],
        )
    buckets.adjust(conn, tenant_id, added=added, removed=removed)
    totals: Counter[str] = Counter(s for s, g, _ in added if published.get(s) == g)
    totals.subtract(s for s, g, _ in removed if published.get(s) == g)
    changed = [
        {"tenant": tenant_id, "segment": s, "delta": delta}
        for s, delta in sorted(totals.items())
        if delta
    ]
    if changed:
        conn.execute(_ADD_TO_TOTAL, changed)
