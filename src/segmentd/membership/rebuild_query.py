"""A rebuild's difference found on the system of record, in one set-based query per form:
the rows the published generation must gain and those it must lose for its rows to stand
for the list's members the condition selects now (less the members removed by hand).

A generation's rows are its members above its horizon, and the members it leaves out at or
below it (``membership.complement``): the rows due are, above the horizon, the members
selected, and at or below it, those not selected. The difference is the rows due less the
rows there (each one a row to add) and the other way round (a row to remove): both sides
come in member id order, so SQLite merges them (``EXCEPT``, one walk of each); PostgreSQL
takes both ways at once, as one ``FULL JOIN`` (merged or hashed). Its cost is one
evaluation of the condition per list member, the walk of the generation's rows, and a row
per member that moves.

The rows are streamed: past ``limit`` of them the query stops and nothing is returned (the
caller builds a new generation instead).
"""

from __future__ import annotations

from collections.abc import Generator
from contextlib import closing
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from ..domain.conditions import Condition
from ..storage.compiler import compile_condition
from ..storage.schema import members, segment_members
from .complement import holds
from .fill import has_exclusions
from .interface import GenerationKey, Rebuilt
from .publish_changes import ids_except
from .range_rows import rows_where
from .rebuild_difference import write_moves
from .references import PublishedReader

_EVERYONE = 2**62  # above every member id
# PostgreSQL: the generation's rows are often newer than the statistics, which then plan a
# nested loop reading them for each member (as for a publish's history, ``storage.change_log``).
_NEW_ROWS = {"enable_nestloop": "off", "work_mem": "'64MB'"}


def rebuild_in_place(
    conn: Connection,
    key: GenerationKey,
    list_id: int,
    horizon: int,
    condition: Condition,
    limit: int,
) -> Rebuilt | None:
    """Rebuild the published generation ``key`` in place (``MembershipStore.rebuild_in_place``)."""
    moves = moved_members(conn, key, list_id, horizon, condition, has_exclusions(conn, key), limit)
    if moves is None:
        return None
    moved = write_moves(conn, key, horizon, moves)
    holding = frozenset(member_id for member_id, held in moves if held)
    without = frozenset(member_id for member_id, held in moves if not held)
    return Rebuilt(holding, without, moved)


def moved_members(
    conn: Connection,
    key: GenerationKey,
    list_id: int,
    horizon: int,
    condition: Condition,
    excluding: bool,
    limit: int,
) -> list[tuple[int, bool]] | None:
    """(member id, held after) of each member whose membership of the published generation
    ``key`` (a complement up to ``horizon``) must change for it to hold the list's members
    ``condition`` selects, less those removed by hand (``excluding``: the segment has some);
    None when more than ``limit`` members would move (nothing is written either way)."""
    found: list[tuple[int, bool]] = []
    postgres = conn.dialect.name == "postgresql"
    if postgres:
        for name, value in _NEW_ROWS.items():
            conn.exec_driver_sql(f"SET LOCAL {name} = {value}")
    try:
        with closing(_row_changes(conn, key, list_id, horizon, condition, excluding)) as rows:
            for member_id, present in rows:
                if len(found) >= limit:
                    return None
                # The member's row changes, so whether the generation holds it flips.
                found.append((member_id, not holds(present, member_id, horizon)))
    finally:
        if postgres:
            for name in _NEW_ROWS:
                conn.exec_driver_sql(f"SET LOCAL {name} TO DEFAULT")
    return found


def _row_changes(
    conn: Connection,
    key: GenerationKey,
    list_id: int,
    horizon: int,
    condition: Condition,
    excluding: bool,
) -> Generator[tuple[int, bool]]:
    """(member id, has a row now) of each row to add (False) or remove (True)."""
    reader = PublishedReader(conn, key.tenant_id)
    parts = [(horizon, _EVERYONE, False)]  # above the horizon: plain rows
    if horizon > 0:
        parts.insert(0, (0, horizon, True))
    postgres = conn.dialect.name == "postgresql"
    for lo, hi, complement in parts:
        compiled = compile_condition(condition, (lo, hi), key.tenant_id, reader)
        due = sa.select(members.c.id.label("member_id")).where(
            *rows_where(key, list_id, complement, compiled, lo, hi, excluding)
        )
        there = _rows(key, lo, hi)
        for query in [_full_join(due, there)] if postgres else _excepts(due, there):
            streamed = query.execution_options(stream_results=True, yield_per=10_000)
            with conn.execute(streamed) as result:
                for member_id, present in result:
                    yield int(member_id), bool(present)


def _rows(key: GenerationKey, lo: int, hi: int) -> sa.Select[Any]:
    sm = segment_members.c
    return sa.select(sm.member_id).where(
        sm.tenant_id == key.tenant_id,
        sm.segment_number == key.segment_number,
        sm.generation == key.generation,
        sm.member_id > lo,
        sm.member_id <= hi,
    )


def _excepts(due: sa.Select[Any], there: sa.Select[Any]) -> list[sa.Select[Any]]:
    """SQLite: the rows due less the rows there (to add), and the other way round (to
    remove), each merged in member order (``ids_except``)."""
    found = []
    for having, lacking, present in ((due, there, False), (there, due, True)):
        rows = ids_except(having, lacking)
        found.append(sa.select(rows.c.member_id, sa.literal(present)))
    return found


def _full_join(due: sa.Select[Any], there: sa.Select[Any]) -> sa.Select[Any]:
    """PostgreSQL: both ways at once, one merge of the two sides."""
    wanted, stored = due.subquery("due"), there.subquery("there")
    joined = wanted.join(stored, wanted.c.member_id == stored.c.member_id, full=True)
    member: sa.ColumnElement[Any] = sa.func.coalesce(wanted.c.member_id, stored.c.member_id)
    return (
        sa.select(member, stored.c.member_id.is_not(None))
        .select_from(joined)
        .where(sa.or_(wanted.c.member_id.is_(None), stored.c.member_id.is_(None)))
    )
