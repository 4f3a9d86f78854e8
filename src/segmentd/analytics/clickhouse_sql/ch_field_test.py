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

# The civil calendar from a day number in integer arithmetic (H. Hinnant's days_from_civil
# inverse), not Date32 and toMonth: ClickHouse 18.16 has neither Date32 nor positiveModulo,
# and this reads dates from year 1 to 9999 on every version. The day is moved by whole
# 400-year cycles (146097 days, the calendar repeats) so that every number stays positive:
# intDiv and % truncate toward zero.
_CYCLE = 146_097
_SHIFT = 719_468 + 25 * _CYCLE  # days from 0000-03-01 to 1970-01-01, plus 10000 years


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
    z = f"(toInt64({days}) + {_SHIFT})"
    doe = f"({z} % {_CYCLE})"  # day of the 400-year era, from March 1st
    yoe = f"intDiv({doe} - intDiv({doe}, 1460) + intDiv({doe}, 36524) - intDiv({doe}, 146096), 365)"
    doy = f"({doe} - (365 * {yoe} + intDiv({yoe}, 4) - intDiv({yoe}, 100)))"
    mp = f"intDiv(5 * {doy} + 2, 153)"  # month from March: 0 to 11
    day = f"({doy} - intDiv(153 * {mp} + 2, 5) + 1)"
    month = f"if({mp} < 10, {mp} + 3, {mp} - 9)"
    return f"({month} * 100 + {day})"


def _anniversary(column: str, test: Anniversary) -> str:
    value = month_day(column) if test.of_date else column
    return either(*(f"({value} >= {low} AND {value} <= {high})" for low, high in test.ranges))
