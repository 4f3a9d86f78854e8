"""The recency row: when the member last was sent, opened or clicked any campaign (or
``engaged``: opened or clicked), or that they never did."""

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

KIND = "last_activity"
ACTIVITIES = ("sent", "open", "click", "engaged")
ACTIVITY_WORDS = {
    "sent": "Last campaign received",
    "open": "Last open",
    "click": "Last click",
    "engaged": "Last open or click",
}
OPS = ("in_last", "more_than_ago", "never")
OP_WORDS = {"in_last": "in the last …", "more_than_ago": "more than … ago", "never": "never"}
NEVER = "never"


class LastActivityRow(LeafRow):
    kind = KIND
    label = "Last activity"
    group = "Campaigns"
    parts = ("kind", "activity", "op", "amount", "unit")

    def read(self, inputs: LeafInputs, subject: str, picks: Picks) -> NativeLeaf:
        op = inputs.text("op")
        leaf: NativeLeaf = {"kind": KIND, "activity": inputs.text("activity"), "op": op}
        if op != NEVER:  # never takes no period
            leaf.update(amount=whole(inputs.text("amount")), unit=inputs.text("unit"))
        return leaf

    def fit(self, leaf: NativeLeaf, picks: Picks) -> NativeLeaf:
        fit = {
            **leaf,
            "activity": fitted(leaf.get("activity"), ACTIVITIES),
            "op": fitted(leaf.get("op"), OPS),
        }
        if fit["op"] == NEVER:
            fit.pop("amount", None)
            fit.pop("unit", None)
        else:
            fit.update(amount=leaf.get("amount"), unit=fitted(leaf.get("unit"), PERIOD_UNITS))
        return fit

    def view(self, leaf: NativeLeaf, picks: Picks) -> Mapping[str, Any]:
        return {
            "activities": choices(ACTIVITIES, ACTIVITY_WORDS),
            "ops": choices(OPS, OP_WORDS),
            "amount": shown(leaf.get("amount")),
            "unit": shown(leaf.get("unit")),
            "units": choices(PERIOD_UNITS, {}),
        }

    def describe(self, leaf: NativeLeaf, picks: Picks, _: Translate) -> str:
        activity, op = shown(leaf.get("activity")), shown(leaf.get("op"))
        subject = _(ACTIVITY_WORDS.get(activity, activity))
        if op == NEVER:
            return f"{subject}: {_('never')}"
        period = period_words(leaf.get("amount"), leaf.get("unit"), _)
        if op == "more_than_ago":
            return f"{subject}: {_('more than {period} ago', period=period)}"
        return f"{subject}: {_('in the last {period}', period=period)}"


LAST_ACTIVITY_ROW = LastActivityRow()
