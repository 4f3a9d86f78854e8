"""The tags row: the member has any, all or none of several tags."""

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
    chosen_first,
    fitted,
    shown,
)

KIND = "tags"
OPS = ("any_of", "all_of", "none_of")
OP_WORDS = {
    "any_of": "has any of the tags",
    "all_of": "has all of the tags",
    "none_of": "has none of the tags",
}


class TagsRow(LeafRow):
    kind = KIND
    label = "Tags: any, all or none of"
    group = "Tags"
    parts = ("kind", "op", "tags")

    def read(self, inputs: LeafInputs, subject: str, picks: Picks) -> NativeLeaf:
        return {"kind": KIND, "op": inputs.text("op"), "tags": inputs.texts("tags")}

    def fit(self, leaf: NativeLeaf, picks: Picks) -> NativeLeaf:
        return {**leaf, "op": fitted(leaf.get("op"), OPS)}

    def view(self, leaf: NativeLeaf, picks: Picks) -> Mapping[str, Any]:
        tags = leaf.get("tags")
        chosen = [shown(t) for t in tags] if isinstance(tags, list) else []
        return {
            "ops": choices(OPS, OP_WORDS),
            "tags": tuple(Choice(tag, tag) for tag in chosen_first(chosen, picks.catalog.tags)),
            "chosen": frozenset(chosen),
        }

    def describe(self, leaf: NativeLeaf, picks: Picks, _: Translate) -> str:
        op = shown(leaf.get("op"))
        tags = leaf.get("tags")
        names = ", ".join(f"“{shown(t)}”" for t in tags) if isinstance(tags, list) else ""
        return f"{_('Member')} {_(OP_WORDS.get(op, op))} {names}"

    def is_empty(self, leaf: NativeLeaf) -> bool:
        return not leaf.get("tags")


TAGS_ROW = TagsRow()
