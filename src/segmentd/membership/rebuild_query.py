"""The candidates of a rebuild in place, found on the system of record in one set-based
query per stored form: the members whose rows in the published generation must change for
its rows to stand for the list's members the condition selects (less those removed by hand).

A generation's rows are its members above its horizon, and the members it leaves out at or
below it (``membership.complement``): the rows due are, above the horizon, the members
selected, and at or below it, those not selected. The members to move are the rows due less
the rows there and the other way round: both sides come in member id order, so SQLite
merges them (``EXCEPT``, one walk of each); PostgreSQL takes both ways at once, as one
``FULL JOIN``. Its cost is one evaluation of the condition per list member, the walk of the
generation's rows, and a row per member that moves.

The rows are streamed: past ``limit`` of them the query stops and nothing is returned (the
caller builds a new generation instead). The caller reads them in a snapshot, then re-checks
each candidate where it writes (``rebuild_difference``; why that is exact: ``jobs.record_rebuild``).
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
from .fill import has_exclusions
from .interface import GenerationKey
from .range_rows import rows_where
from .references import PublishedReader

_EVERYONE = 2**62  # above every member id
# PostgreSQL: the generation's rows are often newer than the statistics, which then plan a
# nested loop reading them for each member (as for a publish's history, ``storage.change_log``).
_NEW_ROWS = {"enable_nestloop": "off", "work_mem": "'64MB'"}


def rebuild_candidates(
    conn: Connection,
    key: GenerationKey,
    list_id: int,
    horizon: int,
    condition: Condition,
    limit: int,
) -> frozenset[int] | None:
    """The members whose membership of the published generation ``key`` (a complement up to
    ``horizon``) must change for it to hold the list's members ``condition`` selects, less
    those removed by hand, as ``conn`` reads them; None when more than ``limit``."""
    excluding = has_exclusions(conn, key)
    found: set[int] = set()
    postgres = conn.dialect.name == "postgresql"
    if postgres:
        for name, value in _NEW_ROWS.items():
            conn.exec_driver_sql(f"SET LOCAL {name} = {value}")
    try:
        with closing(_row_changes(conn, key, list_id, horizon, condition, excluding)) as rows:
            for member_id in rows:
                if len(found) >= limit:
                    return None
                found.add(member_id)
    finally:
        if postgres:
            for name in _NEW_ROWS:
                conn.exec_driver_sql(f"SET LOCAL {name} TO DEFAULT")
    return frozenset(found)


def _row_changes(
    conn: Connection,
    key: GenerationKey,
    list_id: int,
    horizon: int,
    condition: Condition,
    excluding: bool,
) -> Generator[int]:
    """The member id of each row to add or remove."""
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
                for member_id in result.scalars():
                    yield int(member_id)


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
    remove), each ordered by member so that both sides are merged as their keys deliver them."""
    first: sa.ColumnElement[Any] = sa.literal_column("1")
    found = []
    for having, lacking in ((due, there), (there, due)):
        rows = having.except_(lacking).order_by(first).subquery("moved")
        found.append(sa.select(rows.c.member_id))
    return found


def _full_join(due: sa.Select[Any], there: sa.Select[Any]) -> sa.Select[Any]:
    """PostgreSQL: both ways at once, one join of the two sides."""
    wanted, stored = due.subquery("due"), there.subquery("there")
    joined = wanted.join(stored, wanted.c.member_id == stored.c.member_id, full=True)
    member: sa.ColumnElement[Any] = sa.func.coalesce(wanted.c.member_id, stored.c.member_id)
    return (
        sa.select(member)
        .select_from(joined)
        .where(sa.or_(wanted.c.member_id.is_(None), stored.c.member_id.is_(None)))
    )
