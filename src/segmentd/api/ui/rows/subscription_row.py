"""The subscription row: the member is subscribed, or has unsubscribed."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from .leaf_row import LeafInputs, LeafRow, NativeLeaf, Picks, Translate, choices, fitted, shown

KIND = "subscription"
STATUSES = ("subscribed", "unsubscribed")
STATUS_WORDS = {"subscribed": "is subscribed", "unsubscribed": "has unsubscribed"}


class SubscriptionRow(LeafRow):
    kind = KIND
    label = "Subscription status"
    group = "Member status"
    parts = ("kind", "status")

    def read(self, inputs: LeafInputs, subject: str, picks: Picks) -> NativeLeaf:
        return {"kind": KIND, "status": inputs.text("status")}

    def fit(self, leaf: NativeLeaf, picks: Picks) -> NativeLeaf:
        return {**leaf, "status": fitted(leaf.get("status"), STATUSES)}

    def view(self, leaf: NativeLeaf, picks: Picks) -> Mapping[str, Any]:
        return {"statuses": choices(STATUSES, STATUS_WORDS)}

    def describe(self, leaf: NativeLeaf, picks: Picks, _: Translate) -> str:
        status = shown(leaf.get("status"))
        return f"{_('Member')} {_(STATUS_WORDS.get(status, status))}"


SUBSCRIPTION_ROW = SubscriptionRow()
