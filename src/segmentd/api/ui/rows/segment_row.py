"""The segment row: the member is, or is not, in another segment (its published membership)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, ClassVar

from .leaf_row import Choice, LeafRow, NativeLeaf, Picks, Select, Translate, shown

KIND = "segment"


def segment_label(name: str, list_id: int, segment_id: str) -> str:
    """A segment as pickers show it: two segments may share a name, never an id."""
    return f"{name} (list {list_id}, …{segment_id[-6:]})"


class SegmentRow(LeafRow):
    kind = KIND
    label = "Segment membership"
    group = "Member status"
    parts = ("kind", "segment", "op")
    selects: ClassVar[Mapping[str, Select]] = {
        "op": Select(
            ("in", "not_in"), {"in": "is in the segment", "not_in": "is not in the segment"}
        )
    }
    sentence = "{Member} {op} {segment}"
    required = "segment"

    def view(self, leaf: NativeLeaf, picks: Picks) -> Mapping[str, Any]:
        others = tuple(
            Choice(s.id, segment_label(s.name, s.list_id, s.id))
            for s in picks.segments
            if s.id != picks.editing
        )
        return {**super().view(leaf, picks), "segments": others}

    def said(self, leaf: NativeLeaf, picks: Picks, _: Translate) -> dict[str, str]:
        segment_id = shown(leaf.get("segment"))
        name = picks.segment_names.get(segment_id)
        return {**super().said(leaf, picks, _), "segment": f"“{name}”" if name else segment_id}


SEGMENT_ROW = SegmentRow()
