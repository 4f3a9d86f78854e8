"""ClickHouse SQL of a field test: the field's column (``storage.member_columns`` places it,
the same name in ClickHouse) compared with the parsed operand.

Presence: a member without a value fails every test but those that hold when it is missing
(``!=``, ``does not contain``), which pass: each test says so with ``isNull`` or
``isNotNull``, so no leaf is NULL. Text is compared folded (ASCII letters only:
ClickHouse's ``lower`` folds only those, as ``domain.operators.fold`` does); the email's
column is folded already.
"""

from __future__ import annotations

from typing import Any

from ...domain.condition_types.field_leaf import FieldCondition
from ...domain.fields import FieldType, SystemField
from ...domain.operators import TRUE_WHEN_MISSING, Op, day_bounds
from ...storage.member_columns import field_column
from .ch_field_test import compile_test_ch, operand
from .ch_leaf_compiler import Scope, both, either, number


def compile_field_ch(condition: FieldCondition, scope: Scope) -> str:
    stored = field_column(condition.field).name
    compared = stored
    if condition.field.type is FieldType.TEXT and condition.field.name != SystemField.EMAIL:
        compared = f"lower({stored})"
    if condition.test is not None:
        return compile_test_ch(condition.test, stored, compared, scope)
    op = condition.op
    assert isinstance(op, Op), "a field leaf without a test has a flat operator"
    if condition.field.type is FieldType.TIMESTAMP:
        start, end = day_bounds(condition.operand)
        test = _day_compare(op, compared, number(start), number(end))
    else:
        test = _compare(op, compared, operand(condition.operand, scope))
    if op in TRUE_WHEN_MISSING:
        return either(f"isNull({stored})", test)
    return both(f"isNotNull({stored})", test)


def _compare(op: Op, column: str, value: Any) -> str:
    match op:
        case Op.EQ:
            return f"{column} = {value}"
        case Op.NE:
            return f"{column} != {value}"
        case Op.GT:
            return f"{column} > {value}"
        case Op.GE:
            return f"{column} >= {value}"
        case Op.LT:
            return f"{column} < {value}"
        case Op.LE:
            return f"{column} <= {value}"
        case Op.CONTAIN:
            return f"position({column}, {value}) > 0"
        case _:
            return f"position({column}, {value}) = 0"


def _day_compare(op: Op, column: str, start: str, end: str) -> str:
    """Timestamps compare against a whole day [start, end) of the tenant's zone."""
    match op:
        case Op.EQ:
            return f"({column} >= {start} AND {column} < {end})"
        case Op.NE:
            return f"({column} < {start} OR {column} >= {end})"
        case Op.GT:
            return f"{column} >= {end}"
        case Op.GE:
            return f"{column} >= {start}"
        case Op.LT:
            return f"{column} < {start}"
        case _:
            return f"{column} < {end}"
