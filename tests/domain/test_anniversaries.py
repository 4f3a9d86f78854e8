"""Anniversaries within a window of days, as ranges of month * 100 + day: the turn of the year
splits a window in two, and 29 February comes round on 28 February in a common year."""

from __future__ import annotations

from datetime import date

import pytest

from segmentd.domain.anniversaries import (
    CALENDAR,
    anniversary_ranges,
    in_ranges,
    month_day_of,
)
from segmentd.domain.relative_days import day_number


@pytest.mark.parametrize(
    ("first", "last", "ranges"),
    [
        (date(2024, 12, 20), date(2025, 1, 9), ((101, 109), (1220, 1231))),
        (date(2024, 12, 31), date(2025, 1, 1), ((101, 101), (1231, 1231))),
        (date(2025, 2, 28), date(2025, 2, 28), ((228, 229),)),  # common year
        (date(2024, 2, 28), date(2024, 2, 28), ((228, 228),)),  # leap year: 29th is its own
        (date(2024, 2, 29), date(2024, 2, 29), ((229, 229),)),
        (date(2025, 3, 1), date(2025, 3, 1), ((301, 301),)),
        (date(2025, 2, 27), date(2025, 3, 2), ((227, 302),)),
        (date(2025, 3, 1), date(2026, 3, 1), ((101, 1231),)),  # a whole year and a day
        (date(2025, 1, 1), date(2025, 12, 31), ((101, 1231),)),  # 29 Feb on 28 Feb
        (date(2024, 4, 1), date(2024, 4, 30), ((401, 430),)),
    ],
)
def test_windows_become_month_day_ranges(
    first: date, last: date, ranges: tuple[tuple[int, int], ...]
) -> None:
    assert anniversary_ranges(first, last) == ranges


def test_a_range_holds_exactly_the_days_it_covers() -> None:
    ranges = anniversary_ranges(date(2024, 12, 30), date(2025, 1, 4))
    assert [md for md in CALENDAR if in_ranges(md, ranges)] == [101, 102, 103, 104, 1230, 1231]


def test_a_dates_month_and_day() -> None:
    assert month_day_of(day_number(date(2020, 2, 29))) == 229
    assert month_day_of(day_number(date(1, 1, 1))) == 101
    assert month_day_of(day_number(date(9999, 12, 31))) == 1231
    assert month_day_of(day_number(date(1969, 12, 31))) == 1231
    assert len(CALENDAR) == 366
