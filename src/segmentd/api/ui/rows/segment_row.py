"""The segment row: the member is, or is not, in another segment (its published membership)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from .leaf_row import (
    Choice,
    LeafInputs,
    LeafRow,
    NativeLeaf,
    Picks,
    Translate,
    choices,
    fitted,
    shown,
)

KIND = "segment"
OPS = ("in", "not_in")
OP_WORDS = {"in": "is in the segment", "not_in": "is not in the segment"}


class SegmentRow(LeafRow):
    kind = KIND
    label = "Segment membership"
    group = "Member status"
    parts = ("kind", "segment", "op")

    def read(self, inputs: LeafInputs, subject: str, picks: Picks) -> NativeLeaf:
        return {"kind": KIND, "segment": inputs.text("segment"), "op": inputs.text("op")}

    def fit(self, leaf: NativeLeaf, picks: Picks) -> NativeLeaf:
        return {**leaf, "op": fitted(leaf.get("op"), OPS)}

    def view(self, leaf: NativeLeaf, picks: Picks) -> Mapping[str, Any]:
        others = tuple(
            Choice(s.id, f"{s.name} (list {s.list_id})")
            for s in picks.segments
            if s.id != picks.editing
        )
        return {"ops": choices(OPS, OP_WORDS), "segments": others}

    def describe(self, leaf: NativeLeaf, picks: Picks, _: Translate) -> str:
        op, segment_id = shown(leaf.get("op")), shown(leaf.get("segment"))
        name = picks.segment_names.get(segment_id)
        segment = f"“{name}”" if name else segment_id
        return f"{_('Member')} {_(OP_WORDS.get(op, op))} {segment}"

    def is_empty(self, leaf: NativeLeaf) -> bool:
        return not leaf.get("segment")


SEGMENT_ROW = SegmentRow()
