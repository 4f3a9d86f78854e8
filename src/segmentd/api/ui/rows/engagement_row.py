"""The engagement row: how many campaigns the member was sent, opened or clicked, ever or in
a window of the last days, weeks or months."""

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

KIND = "engagement"


class EngagementRow(LeafRow):
    kind = KIND
    label = "Engagement count"
    group = "Campaigns"
    parts = ("kind", "activity", "count_op", "count", "within")
    selects: ClassVar[Mapping[str, Select]] = {
        "activity": Select(
            ("sent", "open", "click"), {"sent": "was sent", "open": "opened", "click": "clicked in"}
        ),
        "count_op": Select(
            (">=", "<=", "==", ">", "<"),
            {
                ">=": "at least",
                "<=": "at most",
                "==": "exactly",
                ">": "more than",
                "<": "fewer than",
            },
        ),
    }
    sentence = "{Member} {activity} {count_op} {count} {campaigns}"

    def read(self, inputs: LeafInputs, subject: str, picks: Picks) -> NativeLeaf:
        amount = whole(inputs.text("amount"))
        within = None if amount is None else {"amount": amount, "unit": inputs.text("unit")}
        leaf = super().read(inputs, subject, picks)
        return {**leaf, "count": whole(inputs.text("count")), "within": within}

    def fit(self, leaf: NativeLeaf, picks: Picks) -> NativeLeaf:
        within = leaf.get("within")
        if isinstance(within, dict):
            within = {**within, "unit": fitted(within.get("unit"), PERIOD_UNIT.values)}
        return {**super().fit(leaf, picks), "within": within}

    def view(self, leaf: NativeLeaf, picks: Picks) -> Mapping[str, Any]:
        within = leaf.get("within")
        window = within if isinstance(within, dict) else {}
        return {
            **super().view(leaf, picks),
            "count": shown(leaf.get("count")),
            "amount": shown(window.get("amount")),
            "unit": shown(window.get("unit")),
            "units": PERIOD_UNIT.choices(),
        }

    def describe(self, leaf: NativeLeaf, picks: Picks, _: Translate) -> str:
        sentence = self.sentence.format(**self.said(leaf, picks, _), campaigns=_("campaigns"))
        within = leaf.get("within")
        if not isinstance(within, dict):
            return sentence
        period = period_words(within.get("amount"), within.get("unit"), _)
        return f"{sentence} {_('in the last {period}', period=period)}"


ENGAGEMENT_ROW = EngagementRow()
