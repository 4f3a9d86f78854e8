"""The recency row: when the member last was sent, opened or clicked any campaign (or
``engaged``: opened or clicked), or that they never did."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, ClassVar

from .leaf_row import (
    PERIOD_UNIT,
    LeafInputs,
    LeafRow,
    NativeLeaf,
    Picks,
    Select,
    Translate,
    fitted,
    period_words,
    shown,
    whole,
)

KIND = "last_activity"
NEVER = "never"
# What each op says of the period (none for never).
OP_SENTENCES = {
    "in_last": "in the last {period}",
    "more_than_ago": "more than {period} ago",
    NEVER: "never",
}


class LastActivityRow(LeafRow):
    kind = KIND
    label = "Last activity"
    group = "Campaigns"
    parts = ("kind", "activity", "op", "amount", "unit")
    selects: ClassVar[Mapping[str, Select]] = {
        "activity": Select(
            ("sent", "open", "click", "engaged"),
            {
                "sent": "Last campaign received",
                "open": "Last open",
                "click": "Last click",
                "engaged": "Last open or click",
            },
        ),
        "op": Select(
            ("in_last", "more_than_ago", NEVER),
            {"in_last": "in the last …", "more_than_ago": "more than … ago", NEVER: "never"},
        ),
    }

    def read(self, inputs: LeafInputs, subject: str, picks: Picks) -> NativeLeaf:
        leaf = super().read(inputs, subject, picks)
        if leaf["op"] == NEVER:  # never takes no period
            del leaf["amount"], leaf["unit"]
        else:
            leaf["amount"] = whole(inputs.text("amount"))
        return leaf

    def fit(self, leaf: NativeLeaf, picks: Picks) -> NativeLeaf:
        fit = super().fit(leaf, picks)
        if fit["op"] == NEVER:
            fit.pop("amount", None)
            fit.pop("unit", None)
        else:
            fit.update(amount=leaf.get("amount"), unit=fitted(leaf.get("unit"), PERIOD_UNIT.values))
        return fit

    def view(self, leaf: NativeLeaf, picks: Picks) -> Mapping[str, Any]:
        return {
            **super().view(leaf, picks),
            "amount": shown(leaf.get("amount")),
            "unit": shown(leaf.get("unit")),
            "units": PERIOD_UNIT.choices(),
        }

    def describe(self, leaf: NativeLeaf, picks: Picks, _: Translate) -> str:
        subject = _(self.selects["activity"].word(leaf.get("activity")))
        op = shown(leaf.get("op"))
        period = period_words(leaf.get("amount"), leaf.get("unit"), _)
        sentence = OP_SENTENCES.get(op, OP_SENTENCES["in_last"])
        return f"{subject}: {_(sentence, period=period)}"


LAST_ACTIVITY_ROW = LastActivityRow()
