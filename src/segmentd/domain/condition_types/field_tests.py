"""What a native-only field operator tests, resolved when the condition loads: relative dates
and anniversaries are absolute bounds by then, so the evaluator and the SQL compiler
(``storage.condition_sql.field_test_sql``) read the same numbers and stay pure."""

from __future__ import annotations

from dataclasses import dataclass

from ..anniversaries import MonthDayRanges, in_ranges, month_day_of
from ..values import Typed


@dataclass(frozen=True)
class Presence:
    """is_set (``present``) or is_not_set."""

    present: bool


@dataclass(frozen=True)
class OneOf:
    """in, or not_in (``negated``: also holds for a member without a value)."""

    operands: frozenset[Typed]  # parsed as values are stored; text folded
    negated: bool


@dataclass(frozen=True)
class Span:
    """low <= value <= high, an end None being open: between, and the relative dates (as day
    numbers for date fields, as epoch seconds for system times)."""

    low: float | None
    high: float | None


@dataclass(frozen=True)
class Affix:
    """starts_with, or ends_with (``at_end``), of folded text."""

    text: str
    at_end: bool


@dataclass(frozen=True)
class Anniversary:
    """The value's month and day falls in ``ranges``; ``of_date``: the value is a date (days
    since 1970-01-01), else a birthday (month * 100 + day)."""

    ranges: MonthDayRanges
    of_date: bool


FieldTest = Presence | OneOf | Span | Affix | Anniversary


def holds(test: FieldTest, actual: Typed | None) -> bool:
    """Whether a member's value (text already folded) passes the test."""
    if isinstance(test, Presence):
        return (actual is not None) == test.present
    if isinstance(test, OneOf):
        return test.negated if actual is None else (actual in test.operands) != test.negated
    if actual is None:
        return False
    if isinstance(test, Span):
        number = float(actual)
        return (test.low is None or number >= test.low) and (
            test.high is None or number <= test.high
        )
    if isinstance(test, Affix):
        text = str(actual)
        return text.endswith(test.text) if test.at_end else text.startswith(test.text)
    value = int(actual)
    return in_ranges(month_day_of(value) if test.of_date else value, test.ranges)
