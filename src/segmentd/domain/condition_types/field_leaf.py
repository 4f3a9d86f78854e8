"""A field test: ``Age >= 13``, or one of the native form's own operators (``is_set``,
``in_last`` ...: ``native_field_ops``). Stored by the field's stable key, which a rename
keeps."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import timezone
from typing import Any, ClassVar

from ..conditions import Inputs, Leaf
from ..contact import Contact
from ..errors import DomainValidationError
from ..fields import Catalog, FieldDef, FieldType
from ..operators import (
    MOVING_OPS,
    NATIVE_OPERATORS,
    OPERATORS,
    TRUE_WHEN_MISSING,
    NativeOp,
    Op,
    Operand,
    day_bounds,
    fold,
    parse_operand,
)
from ..text import check_text
from ..values import Typed
from .field_tests import FieldTest, holds
from .leaf_type import ConditionContext, ConditionType, FlatItem, StoredLeaf, flat_item, quoted
from .native_field_ops import TAKES_VALUE, NativeArgs, dump_args, read_args, resolve

KIND = "field"
CUSTOM_PREFIX = "custom:"  # + the field's id: a rename keeps it, and ids are never reused
SYSTEM_PREFIX = "system:"  # + the system field's key (its fixed name, casefolded)


@dataclass(frozen=True)
class FieldCondition(Leaf):
    field: FieldDef
    op: Op | NativeOp
    value: str  # as the client wrote it: the flat form answers it back verbatim
    operand: Operand  # the flat operators' parsed value ("" for native ones)
    kind: ClassVar[str] = KIND
    args: NativeArgs | None = None  # a native operator's arguments, as written
    test: FieldTest | None = None  # a native operator's test, dates resolved at load


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


def _checked(
    field: FieldDef,
    op: Op,
    value: str,
    tz: timezone,
    path: str,
    offered: tuple[Op | NativeOp, ...] | None = None,
) -> FieldCondition:
    """``offered``: the operators an error lists (default: the flat form's for the type)."""
    if op not in OPERATORS[field.type]:
        listed = OPERATORS[field.type] if offered is None else offered
        raise DomainValidationError(
            f"{path}.op", f"op for field {field.name} must be one of {quoted(listed)}"
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
    if op in tuple(NativeOp):
        return _native(field, NativeOp(op), raw, ctx, path)
    if op not in tuple(Op):
        raise DomainValidationError(f"{path}.op", f"op must be one of {quoted((*Op, *NativeOp))}")
    if not isinstance(value, str):
        raise DomainValidationError(f"{path}.value", "value must be a string")
    check_text(value, f"{path}.value")
    return _checked(field, Op(op), value, ctx.tz, path, _offered(field))


def _native(
    field: FieldDef, op: NativeOp, raw: Mapping[str, Any], ctx: ConditionContext, path: str
) -> FieldCondition:
    if op not in NATIVE_OPERATORS[field.type]:
        raise DomainValidationError(
            f"{path}.op", f"op for field {field.name} must be one of {quoted(_offered(field))}"
        )
    args = read_args(op, raw, path)
    return FieldCondition(field, op, args.value, "", args, resolve(op, field, args, ctx, path))


def _offered(field: FieldDef) -> tuple[Op | NativeOp, ...]:
    return (*OPERATORS[field.type], *NATIVE_OPERATORS[field.type])


def dump(leaf: FieldCondition) -> dict[str, Any]:
    op, args = leaf.op, leaf.args
    said = (
        dump_args(op, args)
        if isinstance(op, NativeOp) and args is not None
        else {"value": leaf.value}
    )
    return {"kind": KIND, "field": stored_key(leaf.field), "op": str(leaf.op), **said}


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


def to_flat(raw: StoredLeaf, catalog: Catalog) -> FlatItem | None:
    """None for the native form's own operators: the flat form cannot say them."""
    if raw.get("op") not in tuple(Op):
        return None
    field = field_of(catalog, raw.get("field"))
    name = field.name if field is not None else str(raw.get("field"))
    return flat_item(None, name, str(raw.get("op")), str(raw.get("value")))


def evaluate(leaf: FieldCondition, contact: Contact) -> bool:
    actual = contact.values.get(leaf.field.key)
    if leaf.test is not None:
        if actual is not None and leaf.field.type is FieldType.TEXT:
            actual = fold(str(actual))
        return holds(leaf.test, actual)
    op = leaf.op
    assert isinstance(op, Op), "a field leaf without a test has a flat operator"
    if actual is None:
        return op in TRUE_WHEN_MISSING
    if leaf.field.type is FieldType.TIMESTAMP:
        start, end = day_bounds(leaf.operand)
        return _day_compare(op, int(actual), start, end)
    if leaf.field.type is FieldType.TEXT:
        actual = fold(str(actual))
    return _compare(op, actual, leaf.operand)


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
    """``Age >= '13'``, ``City in 'a', 'b'``, ``Signup in_last 7 days``, ``Phone is_set``."""
    if leaf.args is None:
        return f"{leaf.field.name} {leaf.op} {leaf.value!r}"
    return f"{leaf.field.name} {leaf.op} {_said(leaf.op, leaf.args)}".rstrip()


def _said(op: Op | NativeOp, args: NativeArgs) -> str:
    if args.period is not None:
        return f"{args.period.amount} {args.period.unit}"
    if args.values:
        return ", ".join(repr(value) for value in args.values)
    return repr(args.value) if op in TAKES_VALUE else ""


def moves_with_time(leaf: FieldCondition) -> bool:
    return leaf.op in MOVING_OPS


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
    moves_with_time=moves_with_time,
)
