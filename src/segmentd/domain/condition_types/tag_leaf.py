"""A tag test: ``==`` holds when the member has the tag, ``!=`` when it does not. Stored by
the tag's id, which a rename keeps."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import timezone
from typing import Any, ClassVar

from ..conditions import Inputs, Leaf
from ..contact import Contact
from ..errors import DomainValidationError
from ..fields import Catalog
from ..operators import TAG_OPERATORS, Op
from .leaf_type import (
    ConditionContext,
    ConditionType,
    FlatItem,
    StoredLeaf,
    flat_item,
    quoted,
    stored_id,
    stored_op,
)

KIND = "tag"
FLAT_NAME = "tag"


@dataclass(frozen=True)
class TagCondition(Leaf):
    tag_id: int
    tag: str  # its name: members' tags are read by name
    op: Op
    kind: ClassVar[str] = KIND


def load(raw: StoredLeaf, ctx: ConditionContext, path: str) -> TagCondition:
    tag_id = stored_id(raw, "tag", path)
    name = ctx.catalog.tag_names.get(tag_id)
    if name is None:
        raise DomainValidationError(f"{path}.tag", f"tag {tag_id} does not exist")
    return TagCondition(tag_id, name, stored_op(raw, TAG_OPERATORS, path))


def from_native(raw: Mapping[str, Any], ctx: ConditionContext, path: str) -> TagCondition:
    name = raw.get("tag")
    tag_id = ctx.catalog.tag_ids.get(name) if isinstance(name, str) else None
    if tag_id is None:
        raise DomainValidationError(f"{path}.tag", f"tag {name} does not exist")
    return TagCondition(tag_id, ctx.catalog.tag_names[tag_id], stored_op(raw, TAG_OPERATORS, path))


def dump(leaf: TagCondition) -> dict[str, Any]:
    return {"kind": KIND, "tag": leaf.tag_id, "op": str(leaf.op)}


def to_native(raw: StoredLeaf, catalog: Catalog) -> dict[str, Any]:
    tag_id = raw.get("tag")
    name = catalog.tag_names.get(tag_id) if isinstance(tag_id, int) else None
    return {**raw, "tag": name if name is not None else str(tag_id)}


def from_flat(
    raw: Mapping[str, Any], op: Op, value: str, catalog: Catalog, tz: timezone, path: str
) -> TagCondition:
    if op not in TAG_OPERATORS:
        raise DomainValidationError(
            f"{path}.op", f"op for tag must be one of {quoted(TAG_OPERATORS)}"
        )
    tag_id = catalog.tag_ids.get(value)
    if tag_id is None:
        raise DomainValidationError(f"{path}.value", f"tag {value} does not exist")
    return TagCondition(tag_id, value, op)


def to_flat(raw: StoredLeaf, catalog: Catalog) -> FlatItem:
    tag_id = raw.get("tag")
    name = catalog.tag_names.get(tag_id) if isinstance(tag_id, int) else None
    return flat_item(None, FLAT_NAME, str(raw.get("op")), str(tag_id) if name is None else name)


def evaluate(leaf: TagCondition, contact: Contact) -> bool:
    return (leaf.tag in contact.tags) == (leaf.op is Op.EQ)


def reads(leaf: TagCondition) -> Inputs:
    return Inputs(tags=True)


def describe(leaf: TagCondition) -> str:
    return f"tag {leaf.op} {leaf.tag!r}"


TAG = ConditionType(
    kind=KIND,
    leaf=TagCondition,
    flat_name=FLAT_NAME,
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
