"""The words the UI uses for fields, operators and campaign activity, and conditions in plain words.

Which operators a field offers comes from ``domain.operators`` (the same table the API checks);
only the labels live here.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from enum import StrEnum
from typing import Any

from ...domain.fields import Catalog, FieldDef, FieldType
from ...domain.operators import CAMPAIGN_OPERATORS, OPERATORS, TAG_OPERATORS, Activity, Op
from ...domain.validation import CAMPAIGN_FIELD, TAG_FIELD


class Kind(StrEnum):
    """What a condition row tests, which decides its value input."""

    TEXT = "text"
    NUMBER = "number"
    DATE = "date"
    BIRTHDAY = "birthday"
    DROPDOWN = "dropdown"
    TIMESTAMP = "timestamp"
    TAG = "tag"
    CAMPAIGN = "campaign"
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
    Kind.TAG: {Op.EQ: "has the tag", Op.NE: "does not have the tag"},
    Kind.CAMPAIGN: {Op.EQ: "is"},
    Kind.UNKNOWN: {op: str(op) for op in Op},
}

ACTIVITY_WORDS = {
    Activity.SENT: "was sent the campaign",
    Activity.OPEN: "opened the campaign",
    Activity.CLICK: "clicked in the campaign",
    Activity.UNOPEN: "was sent the campaign but did not open it",
    Activity.UNCLICK: "was sent the campaign but did not click",
    Activity.NOTSENT: "was not sent the campaign",
}


def field_kind(catalog: Catalog, field_name: str) -> Kind:
    if field_name == TAG_FIELD:
        return Kind.TAG
    if field_name == CAMPAIGN_FIELD:
        return Kind.CAMPAIGN
    field = catalog.field(field_name)
    return FIELD_KINDS[field.type] if field else Kind.UNKNOWN


def operators(catalog: Catalog, field_name: str) -> tuple[Op, ...]:
    """The operators the API accepts for this field name (all of them for an unknown field)."""
    kind = field_kind(catalog, field_name)
    if kind is Kind.TAG:
        return TAG_OPERATORS
    if kind is Kind.CAMPAIGN:
        return CAMPAIGN_OPERATORS
    field = catalog.field(field_name)
    return OPERATORS[field.type] if field else tuple(Op)


def op_label(kind: Kind, op: str) -> str:
    words = OP_WORDS[kind]
    return words.get(Op(op), op) if op in tuple(Op) else op


def field_label(field: FieldDef) -> str:
    return f"{field.name} ({TYPE_NAMES[field.type]})"


def describe(
    item: Mapping[str, Any],
    catalog: Catalog,
    campaign_names: Mapping[int, str],
    _: Callable[..., str],
) -> str:
    """One stored condition item in plain words: ``Age is at least 13``."""
    field_name, op, value = str(item["field_name"]), str(item["op"]), str(item["value"])
    kind = field_kind(catalog, field_name)
    if kind is Kind.CAMPAIGN:
        campaign_id = item.get("campaign_id")
        name = campaign_names.get(int(campaign_id)) if campaign_id is not None else None
        campaign = f"“{name}” (#{campaign_id})" if name else f"#{campaign_id}"
        activity = ACTIVITY_WORDS.get(Activity(value), value) if value in tuple(Activity) else value
        return f"{_('Member')} {_(activity)} {campaign}"
    if kind is Kind.TAG:
        return f"{_('Member')} {_(op_label(kind, op))} “{value}”"
    return f"{field_name} {_(op_label(kind, op))} “{value}”"
