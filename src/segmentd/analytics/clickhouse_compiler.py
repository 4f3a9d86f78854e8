"""Compile a condition tree to a ClickHouse query of the member ids of a tenant's list that
match it.

Must agree with ``domain.evaluator`` (and so with ``storage.compiler``) on every input; a
differential property test holds them together (tests/analytics). Each leaf kind has one
compiler (``clickhouse_sql``); this walks the groups. Every leaf is true or false, never
NULL, and a negation still reads NULL as false, as ``storage.compiler`` does.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from ..domain.condition_types.segment_leaf import SegmentCondition, SegmentOp
from ..domain.conditions import Condition, Group, Not
from ..domain.operators import Relation
from .clickhouse_schema import MEMBERS
from .clickhouse_sql.ch_leaf_compiler import Scope, number
from .clickhouse_sql.ch_leaf_compilers import CH_COMPILERS
from .read_point import ReadPoint


@dataclass(frozen=True)
class ClickHouseQuery:
    sql: str
    params: dict[str, Any]  # bound to the ``{name:Type}`` placeholders of ``sql``


def compile_where(condition: Condition, scope: Scope) -> str:
    """The condition as a boolean over the ``members`` table."""
    if isinstance(condition, Group):
        joiner = " AND " if condition.relation is Relation.AND else " OR "
        return "(" + joiner.join(compile_where(item, scope) for item in condition.items) + ")"
    if isinstance(condition, Not):
        return f"NOT ifNull({compile_where(condition.item, scope)}, 0)"
    return CH_COMPILERS[condition.kind](condition, scope)


def members_query(
    condition: Condition,
    tenant_id: int,
    database: str,
    point: ReadPoint,
    list_id: int | None = None,
    members: tuple[int, int] | None = None,
) -> ClickHouseQuery:
    """The ids of the tenant's members (of list ``list_id``, or of every list; with
    ``members``, of those with ids in (lo, hi]) the condition holds for, in id order, as the
    copy holds them at ``point`` (``read_point``)."""
    scope = Scope(tenant_id, database, point, members=members)
    where = compile_where(condition, scope)
    scoped = scope.live(MEMBERS)
    if list_id is not None:
        scoped += f" AND list_id = {number(list_id)}"
    sql = (
        f"SELECT member_id FROM {database}.{MEMBERS} AS {MEMBERS} FINAL "
        f"WHERE {scoped} AND {where} ORDER BY member_id"
    )
    return ClickHouseQuery(sql, scope.params)


def each_query(
    conditions: Sequence[Condition],
    tenant_id: int,
    database: str,
    point: ReadPoint,
    list_id: int,
    members: tuple[int, int],
) -> ClickHouseQuery:
    """One pass over the list's members with ids in (lo, hi] for several conditions: each
    member any of them holds for, in id order, with a 1 or 0 per condition (columns ``s0``,
    ``s1``, ... in the order given)."""
    scope = Scope(tenant_id, database, point, members=members)
    tests = [
        f"({compile_where(condition, scope)}) AS s{i}" for i, condition in enumerate(conditions)
    ]
    anyone = " OR ".join(f"s{i}" for i in range(len(conditions))) or "0"
    scoped = f"{scope.live(MEMBERS)} AND list_id = {number(list_id)}"
    sql = (
        f"SELECT member_id, {', '.join(tests)} FROM {database}.{MEMBERS} AS {MEMBERS} FINAL "
        f"WHERE {scoped} AND ({anyone}) ORDER BY member_id"
    )
    return ClickHouseQuery(sql, scope.params)


def difference_query(
    condition: Condition,
    segment_id: str,
    tenant_id: int,
    database: str,
    point: ReadPoint,
    list_id: int,
) -> ClickHouseQuery:
    """One pass over the list's members for a rebuild: each member whose answer to the
    condition differs from the segment's copied membership (its newest copy at ``point``),
    in id order, with ``wanted`` 1 (entered) or 0 (left)."""
    scope = Scope(tenant_id, database, point)
    held = compile_where(SegmentCondition(segment_id=segment_id, op=SegmentOp.IN), scope)
    wanted = compile_where(condition, scope)
    scoped = f"{scope.live(MEMBERS)} AND list_id = {number(list_id)}"
    sql = (
        f"SELECT member_id, ({wanted}) AS wanted, ({held}) AS held "
        f"FROM {database}.{MEMBERS} AS {MEMBERS} FINAL "
        f"WHERE {scoped} AND wanted != held ORDER BY member_id"
    )
    return ClickHouseQuery(sql, scope.params)
