"""The tag row: the member has, or has not, one tag."""

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

KIND = "tag"
OPS = ("==", "!=")
OP_WORDS = {"==": "has the tag", "!=": "does not have the tag"}


class TagRow(LeafRow):
    kind = KIND
    label = "Tag"
    group = "Tags"
    parts = ("kind", "tag", "op")

    def read(self, inputs: LeafInputs, subject: str, picks: Picks) -> NativeLeaf:
        return {"kind": KIND, "tag": inputs.text("tag"), "op": inputs.text("op")}

    def fit(self, leaf: NativeLeaf, picks: Picks) -> NativeLeaf:
        tags = sorted(picks.catalog.tags)
        tag = fitted(leaf.get("tag"), tags) if tags else shown(leaf.get("tag"))
        return {**leaf, "tag": tag, "op": fitted(leaf.get("op"), OPS)}

    def view(self, leaf: NativeLeaf, picks: Picks) -> Mapping[str, Any]:
        tags = tuple(Choice(tag, tag) for tag in sorted(picks.catalog.tags))
        return {"ops": choices(OPS, OP_WORDS), "tags": tags}

    def describe(self, leaf: NativeLeaf, picks: Picks, _: Translate) -> str:
        words = OP_WORDS.get(shown(leaf.get("op")), shown(leaf.get("op")))
        return f"{_('Member')} {_(words)} “{shown(leaf.get('tag'))}”"

    def is_empty(self, leaf: NativeLeaf) -> bool:
        return not leaf.get("tag")


TAG_ROW = TagRow()
