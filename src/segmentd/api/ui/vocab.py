"""The words the UI uses for fields, their types and operators, and campaign activity.

Which operators a field offers comes from the domain (the table the API checks for the flat
form; the condition rows ask the native form's parser for the rest); only the labels live
here. Kinds of condition other than fields word themselves (``rows``).
"""

from __future__ import annotations

from collections.abc import Mapping
from enum import StrEnum

from ...domain.fields import FieldDef, FieldType
from ...domain.operators import Activity, Op


class Kind(StrEnum):
    """What type of value a field holds, which decides its value input."""

    TEXT = "text"
    NUMBER = "number"
    DATE = "date"
    BIRTHDAY = "birthday"
    DROPDOWN = "dropdown"
    TIMESTAMP = "timestamp"
    UNKNOWN = "unknown"  # a field that no longer exists


FIELD_KINDS = {
    FieldType.TEXT: Kind.TEXT,
    FieldType.NUMBER: Kind.NUMBER,
    FieldType.DATE: Kind.DATE,
    FieldType.BIRTHDAY: Kind.BIRTHDAY,
    FieldType.DROPDOWN: Kind.DROPDOWN,
    FieldType.TIMESTAMP: Kind.TIMESTAMP,
}

TYPE_NAMES = {
    FieldType.TEXT: "text",
    FieldType.NUMBER: "number",
    FieldType.DATE: "date",
    FieldType.BIRTHDAY: "birthday",
    FieldType.DROPDOWN: "dropdown",
    FieldType.TIMESTAMP: "time",
}

_ORDER_WORDS = {
    Op.EQ: "equals",
    Op.NE: "does not equal",
    Op.GT: "is greater than",
    Op.GE: "is at least",
    Op.LT: "is less than",
    Op.LE: "is at most",
}
_DAY_WORDS = {
    Op.EQ: "is on",
    Op.NE: "is not on",
    Op.GT: "is after",
    Op.GE: "is on or after",
    Op.LT: "is before",
    Op.LE: "is on or before",
}
_TEXT_WORDS = {
    Op.EQ: "is",
    Op.NE: "is not",
    Op.CONTAIN: "contains",
    Op.NOT_CONTAIN: "does not contain",
}
OP_WORDS: Mapping[Kind, Mapping[Op, str]] = {
    Kind.TEXT: _TEXT_WORDS,
    Kind.DROPDOWN: _TEXT_WORDS,
    Kind.NUMBER: _ORDER_WORDS,
    Kind.DATE: _DAY_WORDS,
    Kind.BIRTHDAY: _DAY_WORDS,
    Kind.TIMESTAMP: _DAY_WORDS,
    Kind.UNKNOWN: {op: str(op) for op in Op},
}

# The native form's field operators (``docs/conditions.md``), alike for every field type.
NATIVE_OP_WORDS: Mapping[str, str] = {
    "starts_with": "starts with",
    "ends_with": "ends with",
    "in": "is one of",
    "not_in": "is none of",
    "between": "is between",
    "is_set": "is set",
    "is_not_set": "is not set",
    "in_last": "is in the last …",
    "more_than_ago": "is more than … ago",
    "in_next": "is in the next …",
    "is_today": "is today",
    "anniversary_in_next": "falls in the next … days (any year)",
    "anniversary_today": "falls today (any year)",
    "anniversary_this_month": "falls this month (any year)",
}

ACTIVITY_WORDS = {
    Activity.SENT: "was sent the campaign",
    Activity.OPEN: "opened the campaign",
    Activity.CLICK: "clicked in the campaign",
    Activity.UNOPEN: "was sent the campaign but did not open it",
    Activity.UNCLICK: "was sent the campaign but did not click",
    Activity.NOTSENT: "was not sent the campaign",
}


def field_kind(field: FieldDef | None) -> Kind:
    return FIELD_KINDS[field.type] if field else Kind.UNKNOWN


def op_label(kind: Kind, op: str) -> str:
    if op in tuple(Op):
        return OP_WORDS[kind].get(Op(op), op)
    return NATIVE_OP_WORDS.get(op, op)


def field_label(field: FieldDef) -> str:
    return f"{field.name} ({TYPE_NAMES[field.type]})"
