"""The operator registry: which operators apply to which field type, and how operands parse.

The table is data so the UI, the validator and the docs all read the same source.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import timezone
from enum import StrEnum

from .fields import FieldDef, FieldType
from .values import parse_day_bounds, parse_field_value


class Op(StrEnum):
    EQ = "=="
    NE = "!="
    GT = ">"
    GE = ">="
    LT = "<"
    LE = "<="
    CONTAIN = "contain"
    NOT_CONTAIN = "does not contain"


class NativeOp(StrEnum):
    """Field operators of the native form only: the flat form (EngageLab's) knows ``Op``."""

    IS_SET = "is_set"
    IS_NOT_SET = "is_not_set"
    IN = "in"
    NOT_IN = "not_in"
    BETWEEN = "between"
    STARTS_WITH = "starts_with"
    ENDS_WITH = "ends_with"
    IN_LAST = "in_last"
    MORE_THAN_AGO = "more_than_ago"
    IN_NEXT = "in_next"
    IS_TODAY = "is_today"
    ANNIVERSARY_IN_NEXT = "anniversary_in_next"
    ANNIVERSARY_TODAY = "anniversary_today"
    ANNIVERSARY_THIS_MONTH = "anniversary_this_month"


class Relation(StrEnum):
    AND = "and"
    OR = "or"


class Activity(StrEnum):
    """Campaign activity a type-1 segment selects on."""

    SENT = "sent"
    OPEN = "open"
    CLICK = "click"
    UNOPEN = "unopen"
    UNCLICK = "unclick"
    NOTSENT = "notsent"


EQUALITY = (Op.EQ, Op.NE)
ORDERING = (Op.EQ, Op.NE, Op.GT, Op.GE, Op.LT, Op.LE)
TEXT_OPS = (Op.EQ, Op.NE, Op.CONTAIN, Op.NOT_CONTAIN)

OPERATORS: Mapping[FieldType, tuple[Op, ...]] = {
    FieldType.TEXT: TEXT_OPS,
    FieldType.NUMBER: ORDERING,
    FieldType.DATE: ORDERING,
    FieldType.BIRTHDAY: ORDERING,
    FieldType.DROPDOWN: EQUALITY,
    FieldType.TIMESTAMP: ORDERING,
}
_PRESENCE = (NativeOp.IS_SET, NativeOp.IS_NOT_SET)
_LISTED = (NativeOp.IN, NativeOp.NOT_IN)
RELATIVE_OPS = (NativeOp.IN_LAST, NativeOp.MORE_THAN_AGO, NativeOp.IN_NEXT, NativeOp.IS_TODAY)
ANNIVERSARY_OPS = (
    NativeOp.ANNIVERSARY_IN_NEXT,
    NativeOp.ANNIVERSARY_TODAY,
    NativeOp.ANNIVERSARY_THIS_MONTH,
)

NATIVE_OPERATORS: Mapping[FieldType, tuple[NativeOp, ...]] = {
    FieldType.TEXT: (*_PRESENCE, *_LISTED, NativeOp.STARTS_WITH, NativeOp.ENDS_WITH),
    FieldType.NUMBER: (*_PRESENCE, *_LISTED, NativeOp.BETWEEN),
    FieldType.DATE: (*_PRESENCE, *_LISTED, NativeOp.BETWEEN, *RELATIVE_OPS, *ANNIVERSARY_OPS),
    FieldType.BIRTHDAY: (*_PRESENCE, *ANNIVERSARY_OPS),
    FieldType.DROPDOWN: (*_PRESENCE, *_LISTED),
    FieldType.TIMESTAMP: (*_PRESENCE, NativeOp.BETWEEN, *RELATIVE_OPS),
}
# Operators whose answer for a member moves as days pass.
MOVING_OPS = frozenset((*RELATIVE_OPS, *ANNIVERSARY_OPS))

TAG_OPERATORS = EQUALITY
CAMPAIGN_OPERATORS = (Op.EQ,)

# Operators that hold for a member without a value: "not Paris" includes "no city".
TRUE_WHEN_MISSING = frozenset({Op.NE, Op.NOT_CONTAIN})

_ASCII_LOWER = str.maketrans("ABCDEFGHIJKLMNOPQRSTUVWXYZ", "abcdefghijklmnopqrstuvwxyz")


def fold(text: str) -> str:
    """Case folding for text comparisons: ASCII letters only, the same in SQLite and PostgreSQL."""
    return text.translate(_ASCII_LOWER)


Operand = str | float | int | tuple[int, int]


def day_bounds(operand: Operand) -> tuple[int, int]:
    """The [start, end) epoch seconds of a timestamp condition's day."""
    assert isinstance(operand, tuple), "timestamp conditions carry a day range"
    return operand


def parse_operand(field: FieldDef, value: str, tz: timezone) -> Operand:
    """Parse a condition value for ``field``; raises ValueError with a user-facing reason.

    Values parse as members' values do, except that text is folded for comparison and
    a system time names a whole day.
    """
    if field.type is FieldType.TIMESTAMP:
        return parse_day_bounds(value, tz)
    if field.type is FieldType.TEXT:
        return fold(value)
    return parse_field_value(field, value)
