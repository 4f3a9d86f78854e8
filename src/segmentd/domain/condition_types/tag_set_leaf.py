"""A test on a list of tags: the member has any of them, all of them, or none of them.
Stored by the tags' ids, which a rename keeps; the native form names them. No flat form."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import Any, ClassVar

from ..conditions import Inputs, Leaf
from ..contact import Contact
from ..errors import DomainValidationError
from ..fields import Catalog
from .leaf_type import ConditionContext, ConditionType, StoredLeaf, quoted

KIND = "tags"
MAX_TAGS = 50


class SetOp(StrEnum):
    ANY_OF = "any_of"
    ALL_OF = "all_of"
    NONE_OF = "none_of"


@dataclass(frozen=True)
class TagSetCondition(Leaf):
    op: SetOp
    tag_ids: tuple[int, ...]
    tags: tuple[str, ...]  # their names, in the same order: members' tags are read by name
    kind: ClassVar[str] = KIND


def load(raw: StoredLeaf, ctx: ConditionContext, path: str) -> TagSetCondition:
    def by_id(item: Any, where: str) -> int:
        if isinstance(item, int) and not isinstance(item, bool) and item in ctx.catalog.tag_names:
            return item
        raise DomainValidationError(where, f"tag {item} does not exist")

    return _condition(raw, ctx.catalog, path, by_id)


def from_native(raw: Mapping[str, Any], ctx: ConditionContext, path: str) -> TagSetCondition:
    def by_name(item: Any, where: str) -> int:
        found = ctx.catalog.tag_ids.get(item) if isinstance(item, str) else None
        if found is None:
            raise DomainValidationError(where, f"tag {item} does not exist")
        return found

    return _condition(raw, ctx.catalog, path, by_name)


def _condition(
    raw: Mapping[str, Any], catalog: Catalog, path: str, tag_id: Callable[[Any, str], int]
) -> TagSetCondition:
    op = raw.get("op")
    if op not in tuple(SetOp):
        raise DomainValidationError(f"{path}.op", f"op must be one of {quoted(SetOp)}")
    listed = raw.get("tags")
    if not isinstance(listed, list) or not 1 <= len(listed) <= MAX_TAGS:
        raise DomainValidationError(f"{path}.tags", f"tags must be a list of 1 to {MAX_TAGS} tags")
    ids: list[int] = []
    for index, item in enumerate(listed):
        found = tag_id(item, f"{path}.tags[{index}]")
        if found in ids:
            raise DomainValidationError(f"{path}.tags[{index}]", f"tag {item} is listed twice")
        ids.append(found)
    return TagSetCondition(SetOp(op), tuple(ids), tuple(catalog.tag_names[i] for i in ids))


def dump(leaf: TagSetCondition) -> dict[str, Any]:
    return {"kind": KIND, "op": str(leaf.op), "tags": list(leaf.tag_ids)}


def to_native(raw: StoredLeaf, catalog: Catalog) -> dict[str, Any]:
    listed = raw.get("tags")
    names = [
        catalog.tag_names.get(item, str(item)) if isinstance(item, int) else str(item)
        for item in (listed if isinstance(listed, list) else [])
    ]
    return {**raw, "tags": names}


def evaluate(leaf: TagSetCondition, contact: Contact) -> bool:
    if leaf.op is SetOp.ALL_OF:
        return all(tag in contact.tags for tag in leaf.tags)
    has_any = any(tag in contact.tags for tag in leaf.tags)
    return has_any if leaf.op is SetOp.ANY_OF else not has_any


def reads(leaf: TagSetCondition) -> Inputs:
    return Inputs(tags=True)


def describe(leaf: TagSetCondition) -> str:
    return f"tags {leaf.op} {', '.join(repr(tag) for tag in leaf.tags)}"


TAG_SET = ConditionType(
    kind=KIND,
    leaf=TagSetCondition,
    flat_name=None,
    load=load,
    dump=dump,
    from_native=from_native,
    to_native=to_native,
    evaluate=evaluate,
    reads=reads,
    describe=describe,
)
