"""The tag row: the member has, or has not, one tag."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, ClassVar

from .leaf_row import Choice, LeafRow, NativeLeaf, Picks, Select, fitted, shown

KIND = "tag"


class TagRow(LeafRow):
    kind = KIND
    label = "Tag"
    group = "Tags"
    parts = ("kind", "tag", "op")
    selects: ClassVar[Mapping[str, Select]] = {
        "op": Select(("==", "!="), {"==": "has the tag", "!=": "does not have the tag"})
    }
    sentence = "{Member} {op} “{tag}”"
    required = "tag"

    def fit(self, leaf: NativeLeaf, picks: Picks) -> NativeLeaf:
        tags = sorted(picks.catalog.tags)
        tag = fitted(leaf.get("tag"), tags) if tags else shown(leaf.get("tag"))
        return {**super().fit(leaf, picks), "tag": tag}

    def view(self, leaf: NativeLeaf, picks: Picks) -> Mapping[str, Any]:
        tags = tuple(Choice(tag, tag) for tag in sorted(picks.catalog.tags))
        return {**super().view(leaf, picks), "tags": tags}


TAG_ROW = TagRow()
