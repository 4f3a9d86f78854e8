"""A leaf no row knows (a kind the UI has no row for): kept as its JSON, read-only, so
editing a segment never drops part of its condition."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from .leaf_row import LeafInputs, LeafRow, NativeLeaf, Picks, Translate

KIND = "raw"


class RawRow(LeafRow):
    kind = KIND
    label = "Condition (JSON)"
    group = "Other"
    parts = ("kind",)

    def subject(self, leaf: NativeLeaf) -> str:
        return KIND

    def read(self, inputs: LeafInputs, subject: str, picks: Picks) -> NativeLeaf:
        try:
            found = json.loads(inputs.text("json"))
        except ValueError:
            return {}
        return found if isinstance(found, dict) else {}

    def view(self, leaf: NativeLeaf, picks: Picks) -> Mapping[str, Any]:
        return {"json": _json(leaf)}

    def describe(self, leaf: NativeLeaf, picks: Picks, _: Translate) -> str:
        return _json(leaf)


def _json(leaf: NativeLeaf) -> str:
    return json.dumps(leaf, ensure_ascii=False, separators=(", ", ": "))


RAW_ROW = RawRow()
