"""SQL of a field test: a plain comparison of the field's column, so indexes apply."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from sqlalchemy.sql import ColumnElement

from ...domain.condition_types.field_leaf import FieldCondition
from ...domain.fields import FieldType, SystemField
from ...domain.operators import TRUE_WHEN_MISSING, Op, day_bounds
from ..member_columns import field_column
from ..sql_text import ascii_lower, text_position
from .field_test_sql import Fold, compile_test
from .leaf_compiler import IdRange


def compile_field(
    condition: FieldCondition, ids: IdRange | None, tenant_id: int | None
) -> ColumnElement[bool]:
    fold = _fold_of(condition)
    column = fold(field_column(condition.field))
    if condition.test is not None:
        return compile_test(condition.test, field_column(condition.field), fold)
    op = condition.op
    assert isinstance(op, Op), "a field leaf without a test has a flat operator"
    if condition.field.type is FieldType.TIMESTAMP:
        start, end = day_bounds(condition.operand)
        test = _day_compare(op, column, start, end)
    else:
        test = _compare(op, column, condition.operand)
    if op in TRUE_WHEN_MISSING:
        return sa.or_(field_column(condition.field).is_(None), test)
    return test


def _fold_of(condition: FieldCondition) -> Fold:
    """How comparisons read the field: text folded (the email's column is already)."""
    if condition.field.type is FieldType.TEXT and condition.field.name != SystemField.EMAIL:
        return ascii_lower
    return lambda column: column


def _compare(op: Op, column: ColumnElement[Any], operand: Any) -> ColumnElement[bool]:
    match op:
        case Op.EQ:
            return column == operand
        case Op.NE:
            return column != operand
        case Op.GT:
            return column > operand
        case Op.GE:
            return column >= operand
        case Op.LT:
            return column < operand
        case Op.LE:
            return column <= operand
        case Op.CONTAIN:
            return text_position(column, sa.literal(operand, sa.Text)) > 0
        case _:
            return text_position(column, sa.literal(operand, sa.Text)) == 0


def _day_compare(op: Op, column: ColumnElement[Any], start: int, end: int) -> ColumnElement[bool]:
    match op:
        case Op.EQ:
            return sa.and_(column >= start, column < end)
        case Op.NE:
            return sa.or_(column < start, column >= end)
        case Op.GT:
            return column >= end
        case Op.GE:
            return column >= start
        case Op.LT:
            return column < start
        case _:
            return column < end
