"""Anniversaries of a month and day (birthdays, or a date's day every year) within a window of
days, as ranges of ``month * 100 + day`` values, the form birthdays are stored in.

A 29 February comes round on 28 February in a common year.
"""

from __future__ import annotations

import calendar
from datetime import date, timedelta

from .values import EPOCH

MonthDayRanges = tuple[tuple[int, int], ...]  # inclusive (low, high) pairs, low <= high

# Every month and day of a leap year, in calendar order: a run of consecutive entries is one
# range of values, since no valid month and day lies between two of them.
CALENDAR: tuple[int, ...] = tuple(
    month * 100 + day
    for month in range(1, 13)
    for day in range(1, calendar.monthrange(2000, month)[1] + 1)
)
LEAP_DAY = 229


def month_day(day: date) -> int:
    return day.month * 100 + day.day


def month_day_of(day_number: int) -> int:
    """The month and day of a date field's value (days since 1970-01-01)."""
    return month_day(EPOCH + timedelta(days=day_number))


def anniversary_ranges(first: date, last: date) -> MonthDayRanges:
    """The months and days whose anniversary falls on a day from ``first`` to ``last``."""
    found: set[int] = set()
    day = first
    while day <= last:
        found.add(month_day(day))
        if day.month == 2 and day.day == 28 and not calendar.isleap(day.year):
            found.add(LEAP_DAY)
        day += timedelta(days=1)
    return _runs(found)


def _runs(found: set[int]) -> MonthDayRanges:
    runs: list[tuple[int, int]] = []
    for index, value in enumerate(CALENDAR):
        if value not in found:
            continue
        if runs and index > 0 and runs[-1][1] == CALENDAR[index - 1]:
            runs[-1] = (runs[-1][0], value)
        else:
            runs.append((value, value))
    return tuple(runs)


def in_ranges(value: int, ranges: MonthDayRanges) -> bool:
    return any(low <= value <= high for low, high in ranges)
