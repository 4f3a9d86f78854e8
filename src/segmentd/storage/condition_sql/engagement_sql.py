"""SQL of an engagement count: how many of the member's ``campaign_activity`` rows (one per
campaign) record the event in the window, compared with the leaf's count. Never NULL.

A count that holds for none of a member's rows (``== 0``, ``< 3``) holds for members without
activity too: it is written as "no group of rows fails it"."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from sqlalchemy.sql import ColumnElement

from ...domain.condition_types.engagement_leaf import CountOp, EngagementCondition, compare
from .activity_rows import has_rows, records
from .leaf_compiler import IdRange

_ANY_ROW = {(CountOp.GE, 1), (CountOp.GT, 0)}  # at least one row
_NO_ROW = {(CountOp.EQ, 0), (CountOp.LE, 0), (CountOp.LT, 1)}  # none


def any_or_no_row(op: CountOp, count: int) -> bool:
    """Whether the count asks only if the member has a row in the window, or none."""
    return (op, count) in _ANY_ROW | _NO_ROW


def compile_engagement(
    condition: EngagementCondition, ids: IdRange | None, tenant_id: int | None
) -> ColumnElement[bool]:
    tests = [records(condition.activity, condition.since)]
    op, count = condition.count_op, condition.count
    if (op, count) in _ANY_ROW:
        return has_rows(tests, ids, tenant_id)
    if (op, count) in _NO_ROW:
        return ~has_rows(tests, ids, tenant_id)
    if (op, count) == (CountOp.GE, 0):
        return sa.true()
    counted = _compare(op, sa.func.count(), count)
    if compare(op, 0, count):  # members without rows pass: fail those whose rows do not
        return ~has_rows(tests, ids, tenant_id, having=~counted)
    return has_rows(tests, ids, tenant_id, having=counted)


def _compare(op: CountOp, counted: ColumnElement[Any], count: int) -> ColumnElement[bool]:
    match op:
        case CountOp.GE:
            return counted >= count
        case CountOp.LE:
            return counted <= count
        case CountOp.EQ:
            return counted == count
        case CountOp.GT:
            return counted > count
        case _:
            return counted < count
