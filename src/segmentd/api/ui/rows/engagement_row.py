"""The engagement row: how many campaigns the member was sent, opened or clicked, ever or in
a window of the last days, weeks or months."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from .leaf_row import (
    PERIOD_UNITS,
    LeafInputs,
    LeafRow,
    NativeLeaf,
    Picks,
    Translate,
    choices,
    fitted,
    period_words,
    shown,
    whole,
)

KIND = "engagement"
ACTIVITIES = ("sent", "open", "click")
ACTIVITY_WORDS = {"sent": "was sent", "open": "opened", "click": "clicked in"}
COUNT_OPS = (">=", "<=", "==", ">", "<")
COUNT_WORDS = {
    ">=": "at least",
    "<=": "at most",
    "==": "exactly",
    ">": "more than",
    "<": "fewer than",
}


class EngagementRow(LeafRow):
    kind = KIND
    label = "Engagement count"
    group = "Campaigns"
    parts = ("kind", "activity", "count_op", "count", "within")

    def read(self, inputs: LeafInputs, subject: str, picks: Picks) -> NativeLeaf:
        amount = whole(inputs.text("amount"))
        within = None if amount is None else {"amount": amount, "unit": inputs.text("unit")}
        return {
            "kind": KIND,
            "activity": inputs.text("activity"),
            "count_op": inputs.text("count_op"),
            "count": whole(inputs.text("count")),
            "within": within,
        }

    def fit(self, leaf: NativeLeaf, picks: Picks) -> NativeLeaf:
        within = leaf.get("within")
        if isinstance(within, dict):
            within = {**within, "unit": fitted(within.get("unit"), PERIOD_UNITS)}
        return {
            **leaf,
            "activity": fitted(leaf.get("activity"), ACTIVITIES),
            "count_op": fitted(leaf.get("count_op"), COUNT_OPS),
            "within": within,
        }

    def view(self, leaf: NativeLeaf, picks: Picks) -> Mapping[str, Any]:
        within = leaf.get("within")
        window = within if isinstance(within, dict) else {}
        return {
            "activities": choices(ACTIVITIES, ACTIVITY_WORDS),
            "count_ops": choices(COUNT_OPS, COUNT_WORDS),
            "count": shown(leaf.get("count")),
            "amount": shown(window.get("amount")),
            "unit": shown(window.get("unit")),
            "units": choices(PERIOD_UNITS, {}),
        }

    def describe(self, leaf: NativeLeaf, picks: Picks, _: Translate) -> str:
        activity, count_op = shown(leaf.get("activity")), shown(leaf.get("count_op"))
        verb = _(ACTIVITY_WORDS.get(activity, activity))
        count = f"{_(COUNT_WORDS.get(count_op, count_op))} {shown(leaf.get('count'))}"
        sentence = f"{_('Member')} {verb} {count} {_('campaigns')}"
        within = leaf.get("within")
        if not isinstance(within, dict):
            return sentence
        period = period_words(within.get("amount"), within.get("unit"), _)
        return f"{sentence} {_('in the last {period}', period=period)}"


ENGAGEMENT_ROW = EngagementRow()
