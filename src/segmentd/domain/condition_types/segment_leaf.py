"""A segment membership test: ``in segment X`` or ``not in segment X``. Native form only.

It reads the referenced segment's published membership as of the transaction, never its
condition: a member is in X when X's published generation holds it (a build's, a real-time
update's or a static segment's members). Stored and native forms are alike, by segment id.
The rules on references (same list, no cycle, depth) are ``segment_graph``'s, checked when
a condition is saved for a segment (``ConditionContext.owner``).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import Any, ClassVar

from ..conditions import Inputs, Leaf
from ..contact import Contact
from ..errors import DomainValidationError
from ..fields import Catalog
from ..segment_graph import check_reference
from ..text import printable
from .leaf_type import ConditionContext, ConditionType, StoredLeaf, quoted

KIND = "segment"


class SegmentOp(StrEnum):
    IN = "in"
    NOT_IN = "not_in"


@dataclass(frozen=True)
class SegmentCondition(Leaf):
    segment_id: str
    op: SegmentOp
    kind: ClassVar[str] = KIND


def load(raw: StoredLeaf, ctx: ConditionContext, path: str) -> SegmentCondition:
    segment_id = raw.get("segment")
    if not isinstance(segment_id, str) or segment_id not in ctx.catalog.segments:
        shown = printable(segment_id) if isinstance(segment_id, str) else segment_id
        raise DomainValidationError(f"{path}.segment", f"segment {shown} does not exist")
    op = raw.get("op")
    if op not in tuple(SegmentOp):
        raise DomainValidationError(f"{path}.op", f"op must be one of {quoted(SegmentOp)}")
    if ctx.owner is not None:
        check_reference(ctx.owner, segment_id, ctx.catalog.segments, f"{path}.segment")
    return SegmentCondition(segment_id, SegmentOp(op))


def from_native(raw: Mapping[str, Any], ctx: ConditionContext, path: str) -> SegmentCondition:
    return load(raw, ctx, path)


def dump(leaf: SegmentCondition) -> dict[str, Any]:
    return {"kind": KIND, "segment": leaf.segment_id, "op": str(leaf.op)}


def to_native(raw: StoredLeaf, catalog: Catalog) -> dict[str, Any]:
    return dict(raw)


def evaluate(leaf: SegmentCondition, contact: Contact) -> bool:
    return (leaf.segment_id in contact.segments) == (leaf.op is SegmentOp.IN)


def reads(leaf: SegmentCondition) -> Inputs:
    return Inputs(segments=frozenset({leaf.segment_id}))


def describe(leaf: SegmentCondition) -> str:
    return f"{'in' if leaf.op is SegmentOp.IN else 'not in'} segment {leaf.segment_id}"


SEGMENT = ConditionType(
    kind=KIND,
    leaf=SegmentCondition,
    flat_name=None,
    load=load,
    dump=dump,
    from_native=from_native,
    to_native=to_native,
    evaluate=evaluate,
    reads=reads,
    describe=describe,
)
