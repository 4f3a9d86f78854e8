"""A field test: ``Age >= 13``. Stored by the field's stable key, which a rename keeps."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import timezone
from typing import Any, ClassVar

from ..conditions import Inputs, Leaf
from ..contact import Contact
from ..errors import DomainValidationError
from ..fields import Catalog, FieldDef, FieldType
from ..operators import OPERATORS, TRUE_WHEN_MISSING, Op, Operand, day_bounds, fold, parse_operand
from ..values import Typed
from .leaf_type import ConditionContext, ConditionType, FlatItem, StoredLeaf, flat_item, quoted

KIND = "field"
CUSTOM_PREFIX = "custom:"  # + the field's id: a rename keeps it, and ids are never reused
SYSTEM_PREFIX = "system:"  # + the system field's key (its fixed name, casefolded)


@dataclass(frozen=True)
class FieldCondition(Leaf):
    field: FieldDef
    op: Op
    value: str  # as the client wrote it: the flat form answers it back verbatim
    operand: Operand
    kind: ClassVar[str] = KIND


def stored_key(field: FieldDef) -> str:
    if field.system:
        return SYSTEM_PREFIX + field.key
    if field.id is None:
        raise ValueError(f"field {field.name} has no id: it cannot be stored")
    return f"{CUSTOM_PREFIX}{field.id}"


def field_of(catalog: Catalog, key: Any) -> FieldDef | None:
    """The field a stored key names, or None."""
    if not isinstance(key, str):
        return None
    if key.startswith(SYSTEM_PREFIX):
        found = catalog.fields.get(key.removeprefix(SYSTEM_PREFIX))
        return found if found is not None and found.system else None
    number = key.removeprefix(CUSTOM_PREFIX)
    if key.startswith(CUSTOM_PREFIX) and number.isascii() and number.isdigit():
        return catalog.field_by_id(int(number))
    return None


def _checked(field: FieldDef, op: Op, value: str, tz: timezone, path: str) -> FieldCondition:
    allowed = OPERATORS[field.type]
    if op not in allowed:
        raise DomainValidationError(
            f"{path}.op", f"op for field {field.name} must be one of {quoted(allowed)}"
        )
    try:
        operand = parse_operand(field, value, tz)
    except ValueError as exc:
        raise DomainValidationError(f"{path}.value", f"field {field.name}: {exc}") from None
    return FieldCondition(field, op, value, operand)


def load(raw: StoredLeaf, ctx: ConditionContext, path: str) -> FieldCondition:
    field = field_of(ctx.catalog, raw.get("field"))
    if field is None:
        raise DomainValidationError(f"{path}.field", f"field {raw.get('field')} does not exist")
    return _test(raw, field, ctx, path)


def from_native(raw: Mapping[str, Any], ctx: ConditionContext, path: str) -> FieldCondition:
    name = raw.get("field")
    field = ctx.catalog.field(name) if isinstance(name, str) else None
    if field is None:
        raise DomainValidationError(f"{path}.field", f"field {name} does not exist")
    return _test(raw, field, ctx, path)


def _test(
    raw: Mapping[str, Any], field: FieldDef, ctx: ConditionContext, path: str
) -> FieldCondition:
    op, value = raw.get("op"), raw.get("value")
    if op not in tuple(Op):
        raise DomainValidationError(f"{path}.op", f"op must be one of {quoted(Op)}")
    if not isinstance(value, str):
        raise DomainValidationError(f"{path}.value", "value must be a string")
    return _checked(field, Op(op), value, ctx.tz, path)


def dump(leaf: FieldCondition) -> dict[str, Any]:
    return {"kind": KIND, "field": stored_key(leaf.field), "op": str(leaf.op), "value": leaf.value}


def to_native(raw: StoredLeaf, catalog: Catalog) -> dict[str, Any]:
    field = field_of(catalog, raw.get("field"))
    return {**raw, "field": field.name if field is not None else str(raw.get("field"))}


def from_flat(
    raw: Mapping[str, Any], op: Op, value: str, catalog: Catalog, tz: timezone, path: str
) -> FieldCondition:
    name = str(raw["field_name"])
    field = catalog.field(name)
    if field is None:
        raise DomainValidationError(f"{path}.field_name", f"field {name} does not exist")
    return _checked(field, op, value, tz, path)


def to_flat(raw: StoredLeaf, catalog: Catalog) -> FlatItem:
    field = field_of(catalog, raw.get("field"))
    name = field.name if field is not None else str(raw.get("field"))
    return flat_item(None, name, str(raw.get("op")), str(raw.get("value")))


def evaluate(leaf: FieldCondition, contact: Contact) -> bool:
    actual = contact.values.get(leaf.field.key)
    if actual is None:
        return leaf.op in TRUE_WHEN_MISSING
    if leaf.field.type is FieldType.TIMESTAMP:
        start, end = day_bounds(leaf.operand)
        return _day_compare(leaf.op, int(actual), start, end)
    if leaf.field.type is FieldType.TEXT:
        actual = fold(str(actual))
    return _compare(leaf.op, actual, leaf.operand)


def _compare(op: Op, actual: Typed, operand: object) -> bool:
    match op:
        case Op.EQ:
            return actual == operand
        case Op.NE:
            return actual != operand
        case Op.GT:
            return actual > operand  # type: ignore[operator]
        case Op.GE:
            return actual >= operand  # type: ignore[operator]
        case Op.LT:
            return actual < operand  # type: ignore[operator]
        case Op.LE:
            return actual <= operand  # type: ignore[operator]
        case Op.CONTAIN:
            return str(operand) in str(actual)
        case _:
            return str(operand) not in str(actual)


def _day_compare(op: Op, actual: int, start: int, end: int) -> bool:
    """Timestamps compare against a whole day [start, end)."""
    match op:
        case Op.EQ:
            return start <= actual < end
        case Op.NE:
            return not start <= actual < end
        case Op.GT:
            return actual >= end
        case Op.GE:
            return actual >= start
        case Op.LT:
            return actual < start
        case _:
            return actual < end


def reads(leaf: FieldCondition) -> Inputs:
    return Inputs(fields=frozenset({leaf.field.key}))


def describe(leaf: FieldCondition) -> str:
    return f"{leaf.field.name} {leaf.op} {leaf.value!r}"


FIELD = ConditionType(
    kind=KIND,
    leaf=FieldCondition,
    flat_name=None,
    load=load,
    dump=dump,
    from_native=from_native,
    to_native=to_native,
    evaluate=evaluate,
    reads=reads,
    describe=describe,
    from_flat=from_flat,
    to_flat=to_flat,
)
