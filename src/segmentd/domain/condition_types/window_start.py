"""Windows of engagement leaves: a period (``amount`` and ``unit``) counted back from today,
and the first second of the day it reaches, in the tenant's zone."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ..errors import DomainValidationError
from ..relative_days import MAX_AMOUNT, Period, Unit, day_start, shifted
from .leaf_type import ConditionContext, quoted


def parse_period(raw: Mapping[str, Any], path: str) -> Period:
    """The ``amount`` and ``unit`` of ``raw``; errors name ``path.amount`` or ``path.unit``."""
    unit = raw.get("unit")
    if unit not in tuple(Unit):
        raise DomainValidationError(f"{path}.unit", f"unit must be one of {quoted(Unit)}")
    most = MAX_AMOUNT[Unit(unit)]
    amount = raw.get("amount")
    if isinstance(amount, bool) or not isinstance(amount, int) or not 1 <= amount <= most:
        raise DomainValidationError(
            f"{path}.amount", f"amount must be a whole number from 1 to {most} {unit}"
        )
    return Period(amount, Unit(unit))


def dump_period(period: Period) -> dict[str, Any]:
    return {"amount": period.amount, "unit": str(period.unit)}


def window_start(period: Period, ctx: ConditionContext) -> int:
    """The first second of day D = today less ``period`` (a month back keeps the day of the
    month, clamped to the month's end)."""
    return day_start(shifted(ctx.today, period, -1), ctx.tz)


def said(period: Period) -> str:
    return f"{period.amount} {period.unit}"
