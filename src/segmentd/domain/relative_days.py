"""Days counted from today: "in the last 3 months", "more than 30 days ago".

Relative dates resolve to whole days of the tenant's zone when a condition loads, so a loaded
condition holds absolute bounds (``docs/conditions.md``, "Relative dates").
"""

from __future__ import annotations

import calendar
from dataclasses import dataclass
from datetime import date, datetime, timedelta, timezone
from enum import StrEnum

from .values import EPOCH


class Unit(StrEnum):
    DAYS = "days"
    WEEKS = "weeks"
    MONTHS = "months"


# About ten years in each unit.
MAX_AMOUNT = {Unit.DAYS: 3650, Unit.WEEKS: 520, Unit.MONTHS: 120}


@dataclass(frozen=True)
class Period:
    amount: int
    unit: Unit


def add_months(day: date, months: int) -> date:
    """``day`` moved by whole calendar months, its day of the month clamped to the month's
    last (31 March minus one month is 28 or 29 February)."""
    years, month_index = divmod(day.month - 1 + months, 12)
    year, month = day.year + years, month_index + 1
    return date(year, month, min(day.day, calendar.monthrange(year, month)[1]))


def shifted(day: date, period: Period, sign: int) -> date:
    """``day`` plus (``sign`` 1) or minus (-1) the period."""
    if period.unit is Unit.MONTHS:
        return add_months(day, sign * period.amount)
    days = period.amount * (7 if period.unit is Unit.WEEKS else 1)
    return day + timedelta(days=sign * days)


def day_number(day: date) -> int:
    """Days since 1970-01-01, as date fields store their values."""
    return (day - EPOCH).days


def day_start(day: date, tz: timezone) -> int:
    """The epoch second at which ``day`` starts in zone ``tz``."""
    return int(datetime(day.year, day.month, day.day, tzinfo=tz).timestamp())
