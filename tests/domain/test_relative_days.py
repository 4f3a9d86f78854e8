"""Days counted from today: calendar months clamp to the month's end, weeks are 7 days, and a
day starts at midnight in the zone."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta, timezone

import pytest

from segmentd.domain.relative_days import (
    Period,
    Unit,
    add_months,
    day_number,
    day_start,
    shifted,
)


@pytest.mark.parametrize(
    ("day", "months", "expected"),
    [
        (date(2024, 3, 31), -1, date(2024, 2, 29)),  # leap year
        (date(2025, 3, 31), -1, date(2025, 2, 28)),
        (date(2024, 1, 31), 1, date(2024, 2, 29)),
        (date(2024, 5, 31), 1, date(2024, 6, 30)),
        (date(2024, 12, 15), 1, date(2025, 1, 15)),  # across the turn of the year
        (date(2025, 1, 15), -1, date(2024, 12, 15)),
        (date(2024, 2, 29), 12, date(2025, 2, 28)),
        (date(2024, 2, 29), -48, date(2020, 2, 29)),
        (date(2025, 6, 30), -120, date(2015, 6, 30)),
    ],
)
def test_months_are_calendar_months_clamped_to_the_month_end(
    day: date, months: int, expected: date
) -> None:
    assert add_months(day, months) == expected


def test_periods_in_each_unit() -> None:
    today = date(2025, 3, 31)
    assert shifted(today, Period(3, Unit.DAYS), -1) == date(2025, 3, 28)
    assert shifted(today, Period(2, Unit.WEEKS), 1) == date(2025, 4, 14)
    assert shifted(today, Period(1, Unit.MONTHS), -1) == date(2025, 2, 28)
    assert shifted(today, Period(1, Unit.MONTHS), 1) == date(2025, 4, 30)


def test_a_day_starts_at_midnight_in_the_zone() -> None:
    east, west = timezone(timedelta(hours=8)), timezone(timedelta(hours=-5))
    day = date(2024, 3, 1)
    assert day_start(day, east) == int(datetime(2024, 2, 29, 16, tzinfo=UTC).timestamp())
    assert day_start(day, west) == int(datetime(2024, 3, 1, 5, tzinfo=UTC).timestamp())
    assert day_number(date(1970, 1, 2)) == 1
    assert day_number(date(1969, 12, 31)) == -1
