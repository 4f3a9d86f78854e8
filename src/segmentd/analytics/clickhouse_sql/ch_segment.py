"""ClickHouse SQL of a segment membership test: whether the referenced segment's published
membership, as copied into ``segment_members`` (its newest finished copy), holds the
member. The referenced condition is never inlined: one set per reference, however deep the
chain behind it."""

from __future__ import annotations

from ...domain.condition_types.segment_leaf import SegmentCondition, SegmentOp
from ..clickhouse_schema import SEGMENT_MEMBERS
from .ch_leaf_compiler import Scope, number


def compile_segment_ch(condition: SegmentCondition, scope: Scope) -> str:
    copy_id = number(scope.point.copy_id(condition.segment_id))
    copied = f"segment_id = {scope.text(condition.segment_id)} AND copy_id = {copy_id}"
    held = scope.member_in(SEGMENT_MEMBERS, copied)
    return held if condition.op is SegmentOp.IN else f"NOT {held}"
