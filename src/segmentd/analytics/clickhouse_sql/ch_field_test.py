"""ClickHouse SQL of the native form's own field operators (``field_tests``): bounds already
resolved when the condition loaded (relative dates are whole days of the tenant's zone by
then), so these are plain comparisons; a date's anniversary reads its month and day."""

from __future__ import annotations

from typing import Any

from ...domain.condition_types.field_tests import (
    Affix,
    Anniversary,
    FieldTest,
    OneOf,
    Presence,
    Span,
)
from .ch_leaf_compiler import Scope, both, either, number

# 1900-01-01 to 2299-12-31 (Date32's range) is one whole 400-year cycle of the Gregorian
# calendar (146097 days): a date moved into it by whole cycles keeps its month and day, so
# dates from year 1 to 9999 read their anniversary without leaving Date32's range.
_CYCLE = 146_097
_DAY_1900 = -25_567  # 1900-01-01 in days since 1970-01-01


def operand(value: Any, scope: Scope) -> str:
    """A parsed operand as SQL: text bound as a parameter, a number as its literal."""
    return scope.text(value) if isinstance(value, str) else number(value)


def compile_test_ch(test: FieldTest, stored: str, compared: str, scope: Scope) -> str:
    """``stored``: the field's column; ``compared``: the same as comparisons read it."""
    if isinstance(test, Presence):
        return f"isNotNull({stored})" if test.present else f"isNull({stored})"
    present = f"isNotNull({stored})"
    if isinstance(test, OneOf):
        listed = ", ".join(operand(v, scope) for v in sorted(test.operands, key=str))
        found = f"{compared} IN ({listed})"
        return either(f"isNull({stored})", f"NOT {found}") if test.negated else both(present, found)
    if isinstance(test, Span):
        bounds = [present]
        if test.low is not None:
            bounds.append(f"{compared} >= {number(test.low)}")
        if test.high is not None:
            bounds.append(f"{compared} <= {number(test.high)}")
        return both(*bounds)
    if isinstance(test, Affix):
        function = "endsWith" if test.at_end else "startsWith"
        return both(present, f"{function}({compared}, {scope.text(test.text)})")
    return both(present, _anniversary(compared, test))


def month_day(days: str) -> str:
    """``month * 100 + day`` of a date field's value (days since 1970-01-01)."""
    offset = f"positiveModulo(toInt64({days}) + {-_DAY_1900}, {_CYCLE})"
    moved = f"addDays(toDate32('1900-01-01'), {offset})"
    return f"(toMonth({moved}) * 100 + toDayOfMonth({moved}))"


def _anniversary(column: str, test: Anniversary) -> str:
    value = month_day(column) if test.of_date else column
    return either(*(f"({value} >= {low} AND {value} <= {high})" for low, high in test.ranges))
