"""Periods counted back from a day: ``30 days``, ``2 weeks``, ``3 months`` before today, in
the tenant's time zone, at day granularity (``docs/conditions.md``)."""

from __future__ import annotations

import calendar
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta, tzinfo
from enum import StrEnum
from typing import Any

from .errors import DomainValidationError


class Unit(StrEnum):
    DAYS = "days"
    WEEKS = "weeks"
    MONTHS = "months"


# Ten years in each unit: far enough back for any marketer, near enough for any date type.
MAX_AMOUNT: Mapping[Unit, int] = {Unit.DAYS: 3650, Unit.WEEKS: 520, Unit.MONTHS: 120}


@dataclass(frozen=True)
class Period:
    amount: int
    unit: Unit

    def before(self, day: date) -> date:
        """The day ``amount`` units before ``day``; a month back keeps the day of the month,
        clamped to the month's end (31 March less one month: 28 or 29 February)."""
        if self.unit is Unit.DAYS:
            return day - timedelta(days=self.amount)
        if self.unit is Unit.WEEKS:
            return day - timedelta(weeks=self.amount)
        return shift_months(day, -self.amount)

    def dump(self) -> dict[str, Any]:
        return {"amount": self.amount, "unit": str(self.unit)}

    def __str__(self) -> str:
        return f"{self.amount} {self.unit}"


def shift_months(day: date, months: int) -> date:
    index = day.year * 12 + day.month - 1 + months
    year, month = divmod(index, 12)
    last = calendar.monthrange(year, month + 1)[1]
    return date(year, month + 1, min(day.day, last))


def parse_period(raw: Mapping[str, Any], path: str) -> Period:
    """The ``amount`` and ``unit`` of ``raw``; errors name ``path.amount`` or ``path.unit``."""
    unit = raw.get("unit")
    if unit not in tuple(Unit):
        raise DomainValidationError(
            f"{path}.unit", f"unit must be one of {', '.join(str(u) for u in Unit)}"
        )
    most = MAX_AMOUNT[Unit(unit)]
    amount = raw.get("amount")
    if isinstance(amount, bool) or not isinstance(amount, int) or not 1 <= amount <= most:
        raise DomainValidationError(
            f"{path}.amount", f"amount must be a whole number from 1 to {most} ({unit})"
        )
    return Period(amount, Unit(unit))


def day_start(day: date, tz: tzinfo) -> int:
    """The epoch second at which ``day`` starts in ``tz``."""
    return int(datetime.combine(day, time(), tz).timestamp())
