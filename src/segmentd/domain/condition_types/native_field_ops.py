"""The field operators of the native form only (``NativeOp``): what each takes beside ``op``,
and what it tests once read against the condition's day (``field_tests``).

    {"op": "is_set"}                                    any field
    {"op": "in", "values": ["a", "b"]}                  1 to 100 values, as ``value`` reads
    {"op": "between", "values": ["1", "5"]}             [low, high], inclusive
    {"op": "starts_with", "value": "ab"}                text
    {"op": "in_last", "amount": 3, "unit": "months"}    date fields and system times
    {"op": "anniversary_in_next", "amount": 7, "unit": "days"}   birthdays and dates
"""

from __future__ import annotations

import calendar
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

from ..anniversaries import anniversary_ranges
from ..errors import DomainValidationError
from ..fields import FieldDef, FieldType
from ..operators import ANNIVERSARY_OPS, NativeOp, Operand, parse_operand
from ..relative_days import MAX_AMOUNT, Period, Unit, day_number, day_start, shifted
from ..text import check_text
from ..values import SECONDS_PER_DAY, Typed
from .field_tests import Affix, Anniversary, FieldTest, OneOf, Presence, Span
from .leaf_type import ConditionContext, quoted

MAX_VALUES = 100  # of in and not_in
MAX_ANNIVERSARY_DAYS = 366

TAKES_VALUE = frozenset({NativeOp.STARTS_WITH, NativeOp.ENDS_WITH})
TAKES_VALUES = frozenset({NativeOp.IN, NativeOp.NOT_IN, NativeOp.BETWEEN})
TAKES_PERIOD = frozenset(
    {NativeOp.IN_LAST, NativeOp.MORE_THAN_AGO, NativeOp.IN_NEXT, NativeOp.ANNIVERSARY_IN_NEXT}
)


@dataclass(frozen=True)
class NativeArgs:
    """What a native operator takes beside ``op``, as the client wrote it."""

    value: str = ""
    values: tuple[str, ...] = ()
    period: Period | None = None


def read_args(op: NativeOp, raw: Mapping[str, Any], path: str) -> NativeArgs:
    """The operator's arguments, checked for shape (their meaning is the field's: ``test``)."""
    if op in TAKES_VALUE:
        value = raw.get("value")
        if not isinstance(value, str):
            raise DomainValidationError(f"{path}.value", "value must be a string")
        return NativeArgs(value=check_text(value, f"{path}.value"))
    if op in TAKES_VALUES:
        return NativeArgs(values=_values(op, raw.get("values"), f"{path}.values"))
    if op in TAKES_PERIOD:
        return NativeArgs(period=_period(op, raw, path))
    return NativeArgs()


def _values(op: NativeOp, values: Any, path: str) -> tuple[str, ...]:
    if op is NativeOp.BETWEEN:
        if not isinstance(values, list) or len(values) != 2:
            raise DomainValidationError(path, "values must be [low, high]: two strings")
    elif not isinstance(values, list) or not 1 <= len(values) <= MAX_VALUES:
        raise DomainValidationError(path, f"values must be a list of 1 to {MAX_VALUES} strings")
    for index, value in enumerate(values):
        if not isinstance(value, str):
            raise DomainValidationError(f"{path}[{index}]", "each value must be a string")
        check_text(value, f"{path}[{index}]")
    return tuple(values)


def _period(op: NativeOp, raw: Mapping[str, Any], path: str) -> Period:
    anniversary = op is NativeOp.ANNIVERSARY_IN_NEXT
    units = (Unit.DAYS,) if anniversary else tuple(Unit)
    unit = raw.get("unit")
    if unit not in units:
        raise DomainValidationError(f"{path}.unit", f"unit must be one of {quoted(units)}")
    low, high = (0, MAX_ANNIVERSARY_DAYS) if anniversary else (1, MAX_AMOUNT[Unit(unit)])
    amount = raw.get("amount")
    if isinstance(amount, bool) or not isinstance(amount, int) or not low <= amount <= high:
        raise DomainValidationError(
            f"{path}.amount", f"amount must be a whole number from {low} to {high} {unit}"
        )
    return Period(amount, Unit(unit))


def dump_args(op: NativeOp, args: NativeArgs) -> dict[str, Any]:
    """The arguments as the stored and native forms write them."""
    if args.period is not None:
        return {"amount": args.period.amount, "unit": str(args.period.unit)}
    if op in TAKES_VALUES:
        return {"values": list(args.values)}
    return {"value": args.value} if op in TAKES_VALUE else {}


def resolve(
    op: NativeOp, field: FieldDef, args: NativeArgs, ctx: ConditionContext, path: str
) -> FieldTest:
    """What the operator tests on ``field``, relative dates counted from ``ctx.today``."""
    match op:
        case NativeOp.IS_SET | NativeOp.IS_NOT_SET:
            return Presence(op is NativeOp.IS_SET)
        case NativeOp.IN | NativeOp.NOT_IN:
            return OneOf(_listed(field, args.values, ctx, path), op is NativeOp.NOT_IN)
        case NativeOp.BETWEEN:
            return _between(field, args.values, ctx, f"{path}.values")
        case NativeOp.STARTS_WITH | NativeOp.ENDS_WITH:
            return Affix(str(_operand(field, args.value, ctx, path)), op is NativeOp.ENDS_WITH)
        case op if op in ANNIVERSARY_OPS:
            return _anniversary(op, field, args, ctx.today)
        case _:
            return _relative(op, field, args, ctx)


def _operand(field: FieldDef, value: str, ctx: ConditionContext, path: str) -> Operand:
    try:
        return parse_operand(field, value, ctx.tz)
    except ValueError as exc:
        raise DomainValidationError(path, f"field {field.name}: {exc}") from None


def _listed(
    field: FieldDef, values: tuple[str, ...], ctx: ConditionContext, path: str
) -> frozenset[Typed]:
    found: set[Typed] = set()
    for index, value in enumerate(values):
        operand = _operand(field, value, ctx, f"{path}.values[{index}]")
        assert not isinstance(operand, tuple), "in and not_in take no system time"
        found.add(operand)
    return frozenset(found)


def _between(field: FieldDef, values: tuple[str, ...], ctx: ConditionContext, path: str) -> Span:
    low = _operand(field, values[0], ctx, f"{path}[0]")
    high = _operand(field, values[1], ctx, f"{path}[1]")
    if isinstance(low, tuple) and isinstance(high, tuple):  # system times: whole days
        low, high = low[0], high[1] - 1
    assert isinstance(low, (int, float)) and isinstance(high, (int, float))
    if low > high:
        raise DomainValidationError(path, "values must be [low, high] with low <= high")
    return Span(low, high)


def _relative(op: NativeOp, field: FieldDef, args: NativeArgs, ctx: ConditionContext) -> Span:
    today = ctx.today
    first: date | None = today
    last = today
    if op is NativeOp.IN_LAST:
        first = shifted(today, _need(args.period), -1)
    elif op is NativeOp.MORE_THAN_AGO:
        first, last = None, shifted(today, _need(args.period), -1) - timedelta(days=1)
    elif op is NativeOp.IN_NEXT:
        last = shifted(today, _need(args.period), 1)
    if field.type is FieldType.TIMESTAMP:
        low = None if first is None else day_start(first, ctx.tz)
        return Span(low, day_start(last, ctx.tz) + SECONDS_PER_DAY - 1)
    return Span(None if first is None else day_number(first), day_number(last))


def _anniversary(op: NativeOp, field: FieldDef, args: NativeArgs, today: date) -> Anniversary:
    first, last = today, today
    if op is NativeOp.ANNIVERSARY_IN_NEXT:
        last = today + timedelta(days=_need(args.period).amount)
    elif op is NativeOp.ANNIVERSARY_THIS_MONTH:
        first = today.replace(day=1)
        last = today.replace(day=calendar.monthrange(today.year, today.month)[1])
    return Anniversary(anniversary_ranges(first, last), field.type is FieldType.DATE)


def _need(period: Period | None) -> Period:
    assert period is not None, "read_args gives a period to the operators that take one"
    return period
