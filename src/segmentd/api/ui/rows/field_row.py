"""The field row: a field, an operator the domain takes for it, and the inputs that operator
needs (a value, a list, two bounds, a period, or nothing).

Which operators a field offers is asked of the native form's parser itself: every operator
the row can show is tried on the field, and those the parser refuses by their ``op`` are left
out. So operators appear in the UI exactly when the domain accepts them for that field type.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, date
from enum import StrEnum
from functools import lru_cache
from typing import Any

from ....domain.condition_types.leaf_type import ConditionContext
from ....domain.condition_types.leaf_types import BY_KIND
from ....domain.errors import DomainValidationError
from ....domain.fields import Catalog, FieldDef
from ....domain.operators import Op
from ..vocab import Kind, field_kind, field_label, op_label
from .field_inputs import (
    birthday_parts,
    birthday_to_wire,
    date_to_input,
    date_to_wire,
    field_format,
)
from .leaf_row import (
    PERIOD_UNITS,
    Choice,
    LeafInputs,
    LeafRow,
    NativeLeaf,
    Picks,
    Translate,
    choices,
    chosen_first,
    fitted,
    shown,
    unit_words,
    whole,
)

KIND = "field"
PREFIX = "field:"  # the condition picker's value for a field: field:Age


class Shape(StrEnum):
    """The inputs an operator needs."""

    VALUE = "value"
    NONE = "none"
    LIST = "list"
    RANGE = "range"
    PERIOD = "period"
    DAYS = "days"


SHAPES: Mapping[str, Shape] = {
    "is_set": Shape.NONE,
    "is_not_set": Shape.NONE,
    "is_today": Shape.NONE,
    "anniversary_today": Shape.NONE,
    "anniversary_this_month": Shape.NONE,
    "in": Shape.LIST,
    "not_in": Shape.LIST,
    "between": Shape.RANGE,
    "in_last": Shape.PERIOD,
    "more_than_ago": Shape.PERIOD,
    "in_next": Shape.PERIOD,
    "anniversary_in_next": Shape.DAYS,
}
# Every operator the row can show, in the order offered.
CANDIDATES = (*(str(op) for op in Op), "starts_with", "ends_with", "in", "not_in", "between")
CANDIDATES += ("is_set", "is_not_set", "in_last", "more_than_ago", "in_next", "is_today")
CANDIDATES += ("anniversary_in_next", "anniversary_today", "anniversary_this_month")
_PERIOD_PHRASES = {
    "in_last": "is in the last {n} {unit}",
    "more_than_ago": "is more than {n} {unit} ago",
    "in_next": "is in the next {n} {unit}",
}
_PROBE_DAY = date(2000, 1, 1)
_PROBE_INPUTS: Mapping[Shape, Mapping[str, Any]] = {
    Shape.VALUE: {"value": ""},
    Shape.NONE: {},
    Shape.LIST: {"values": [""]},
    Shape.RANGE: {"values": ["", ""]},
    Shape.PERIOD: {"amount": 1, "unit": "days"},
    Shape.DAYS: {"amount": 1, "unit": "days"},
}


def shape_of(op: Any) -> Shape:
    return SHAPES.get(op, Shape.VALUE) if isinstance(op, str) else Shape.VALUE


@lru_cache(maxsize=512)
def offered_ops(field: FieldDef) -> tuple[str, ...]:
    """The operators the native form's parser takes for ``field``, in the row's order."""
    catalog = Catalog.build([] if field.system else [field])
    ctx = ConditionContext(catalog, UTC, _PROBE_DAY)
    return tuple(op for op in CANDIDATES if _takes(ctx, field.name, op))


def _takes(ctx: ConditionContext, name: str, op: str) -> bool:
    """Whether the parser takes ``op`` for the field: a leaf of the operator's shape is
    refused for its op only when the field does not take it (an empty value is refused
    for its value)."""
    probe = {"kind": KIND, "field": name, "op": op, **_PROBE_INPUTS[shape_of(op)]}
    try:
        BY_KIND[KIND].from_native(probe, ctx, "probe")
    except DomainValidationError as exc:
        return exc.path != "probe.op"
    return True


class FieldRow(LeafRow):
    kind = KIND
    label = "Field"
    group = "Fields"
    parts = ("field", "op", "value", "values", "amount", "unit")

    def subjects(self, picks: Picks) -> list[tuple[str, Choice]]:
        fields = list(picks.catalog.fields.values())
        system = [("System fields", Choice(PREFIX + f.name, f.name)) for f in fields if f.system]
        custom = [
            ("Custom fields", Choice(PREFIX + f.name, field_label(f)))
            for f in fields
            if not f.system
        ]
        return system + custom

    def subject(self, leaf: NativeLeaf) -> str:
        return PREFIX + shown(leaf.get("field"))

    def read(self, inputs: LeafInputs, subject: str, picks: Picks) -> NativeLeaf:
        name = subject.removeprefix(PREFIX)
        field = picks.catalog.field(name)
        kind, fmt = field_kind(field), field_format(field)
        op = inputs.text("op")
        leaf: NativeLeaf = {"kind": KIND, "field": name, "op": op}
        match shape_of(op):
            case Shape.VALUE:
                leaf["value"] = _value(inputs, kind, fmt)
            case Shape.LIST:
                many = inputs.texts("values") if kind is Kind.DROPDOWN else inputs.lines("values")
                leaf["values"] = many
            case Shape.RANGE:
                leaf["values"] = [_picked(inputs.text(p), kind, fmt) for p in ("low", "high")]
            case Shape.PERIOD:
                leaf.update(amount=whole(inputs.text("amount")), unit=inputs.text("unit"))
            case Shape.DAYS:
                leaf.update(amount=whole(inputs.text("amount")), unit="days")
        return leaf

    def fit(self, leaf: NativeLeaf, picks: Picks) -> NativeLeaf:
        field = picks.catalog.field(shown(leaf.get("field")))
        if field is None:
            return leaf
        op = fitted(leaf.get("op"), offered_ops(field))
        fit = _shaped({**leaf, "op": op}) if op != leaf.get("op") else leaf
        if field.options and shape_of(op) is Shape.VALUE:  # a dropdown's select
            fit = {**fit, "value": fitted(fit.get("value"), field.options)}
        return fit

    def view(self, leaf: NativeLeaf, picks: Picks) -> Mapping[str, Any]:
        field = picks.catalog.field(shown(leaf.get("field")))
        kind, fmt = field_kind(field), field_format(field)
        ops = offered_ops(field) if field is not None else tuple(str(op) for op in Op)
        values = leaf.get("values")
        values = [shown(v) for v in values] if isinstance(values, list) else []
        bounds = [*values, "", ""][:2]
        value = shown(leaf.get("value"))
        month, day = birthday_parts(value, fmt) if kind is Kind.BIRTHDAY else (0, 0)
        options = tuple(field.options) if field is not None else ()
        return {
            "field_kind": str(kind),
            "shape": str(shape_of(leaf.get("op"))),
            "ops": tuple(Choice(op, op_label(kind, op)) for op in ops),
            "shapes": {op: str(shape_of(op)) for op in ops},
            "options": options,
            "list_options": tuple(chosen_first(values, options)),
            "input_value": _for_input(value, kind, fmt),
            "month": month,
            "day": day,
            "hint": _hint(kind, fmt),
            "values_text": "\n".join(values),
            "selected": frozenset(values),
            "low": _for_input(bounds[0], kind, fmt),
            "high": _for_input(bounds[1], kind, fmt),
            "amount": shown(leaf.get("amount")),
            "unit": shown(leaf.get("unit")),
            "units": choices(PERIOD_UNITS, {}),
        }

    def describe(self, leaf: NativeLeaf, picks: Picks, _: Translate) -> str:
        name, op = shown(leaf.get("field")), shown(leaf.get("op"))
        words = _(op_label(field_kind(picks.catalog.field(name)), op))
        values = leaf.get("values")
        values = [shown(v) for v in values] if isinstance(values, list) else []
        amount = shown(leaf.get("amount"))
        unit = unit_words(amount, shown(leaf.get("unit")), _)
        match shape_of(op):
            case Shape.VALUE:
                return f"{name} {words} “{shown(leaf.get('value'))}”"
            case Shape.NONE:
                return f"{name} {words}"
            case Shape.LIST:
                return f"{name} {words} " + ", ".join(f"“{v}”" for v in values)
            case Shape.RANGE:
                low, high = [*values, "", ""][:2]
                return f"{name} {words} “{low}” {_('and')} “{high}”"
            case Shape.PERIOD:
                return f"{name} {_(_PERIOD_PHRASES[op], n=amount, unit=unit)}"
            case _:
                return f"{name} {_('falls in the next {n} days (any year)', n=amount)}"

    def is_empty(self, leaf: NativeLeaf) -> bool:
        return shape_of(leaf.get("op")) is Shape.VALUE and not leaf.get("value")


def _value(inputs: LeafInputs, kind: Kind, fmt: str) -> str:
    if kind is Kind.BIRTHDAY:
        return birthday_to_wire(inputs.text("month"), inputs.text("day"), fmt)
    return _picked(inputs.text("value"), kind, fmt)


def _picked(text: str, kind: Kind, fmt: str) -> str:
    """A value as the API reads it: a date picker's day in the field's format."""
    return date_to_wire(text, fmt) if kind is Kind.DATE else text


def _for_input(wire: str, kind: Kind, fmt: str) -> str:
    return date_to_input(wire, fmt) if kind is Kind.DATE else wire


def _hint(kind: Kind, fmt: str) -> str:
    if kind in (Kind.DATE, Kind.BIRTHDAY):
        return fmt
    if kind is Kind.TIMESTAMP:
        return "YYYY-MM-DD"
    return ""


def _shaped(leaf: NativeLeaf) -> NativeLeaf:
    """The leaf with exactly the keys its operator takes (after the operator changed)."""
    shaped: NativeLeaf = {"kind": KIND, "field": leaf.get("field"), "op": leaf.get("op")}
    match shape_of(leaf.get("op")):
        case Shape.VALUE:
            shaped["value"] = shown(leaf.get("value"))
        case Shape.LIST | Shape.RANGE:
            shaped["values"] = leaf.get("values") or []
        case Shape.PERIOD:
            shaped.update(amount=leaf.get("amount"), unit=leaf.get("unit") or PERIOD_UNITS[0])
        case Shape.DAYS:
            shaped.update(amount=leaf.get("amount"), unit="days")
    return shaped


FIELD_ROW = FieldRow()
