"""ClickHouse SQL of a segment membership test: whether the referenced segment's published
membership, as loaded into ``segment_members``, holds the member. The referenced condition
is never inlined: one set per reference, however deep the chain behind it."""

from __future__ import annotations

from ...domain.condition_types.segment_leaf import SegmentCondition, SegmentOp
from ..clickhouse_schema import SEGMENT_MEMBERS
from .ch_leaf_compiler import Scope


def compile_segment_ch(condition: SegmentCondition, scope: Scope) -> str:
    held = scope.member_in(SEGMENT_MEMBERS, f"segment_id = {scope.text(condition.segment_id)}")
    return held if condition.op is SegmentOp.IN else f"NOT {held}"
