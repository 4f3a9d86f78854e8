"""ClickHouse SQL of an engagement count: how many distinct campaigns the member's
``campaign_activity`` rows record the event for in the window, compared with the count.

A count that holds for members without rows (``== 0``, ``< 3``) is written as "not among
the members whose rows fail it", so members with no activity pass. Counts are of distinct
campaign ids (``uniqExact``): a row copied twice still counts once."""

from __future__ import annotations

from ...domain.condition_types.engagement_leaf import CountOp, EngagementCondition, compare
from .ch_activity_rows import has_rows, records
from .ch_leaf_compiler import Scope, number

_ANY_ROW = {(CountOp.GE, 1), (CountOp.GT, 0)}
_NO_ROW = {(CountOp.EQ, 0), (CountOp.LE, 0), (CountOp.LT, 1)}
_SQL_OP = {CountOp.GE: ">=", CountOp.LE: "<=", CountOp.EQ: "=", CountOp.GT: ">", CountOp.LT: "<"}


def compile_engagement_ch(condition: EngagementCondition, scope: Scope) -> str:
    test = records(condition.activity, condition.since)
    op, count = condition.count_op, condition.count
    if (op, count) in _ANY_ROW:
        return has_rows(scope, test)
    if (op, count) in _NO_ROW:
        return f"NOT {has_rows(scope, test)}"
    if (op, count) == (CountOp.GE, 0):
        return "1"
    counted = f"uniqExact(campaign_id) {_SQL_OP[op]} {number(count)}"
    if compare(op, 0, count):
        return f"NOT {has_rows(scope, test, having=f'NOT ({counted})')}"
    return has_rows(scope, test, having=counted)
