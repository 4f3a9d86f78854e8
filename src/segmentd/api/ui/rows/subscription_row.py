"""The subscription row: the member is subscribed, or has unsubscribed."""

from __future__ import annotations

from collections.abc import Mapping
from typing import ClassVar

from .leaf_row import LeafRow, Select

KIND = "subscription"


class SubscriptionRow(LeafRow):
    kind = KIND
    label = "Subscription status"
    group = "Member status"
    parts = ("kind", "status")
    selects: ClassVar[Mapping[str, Select]] = {
        "status": Select(
            ("subscribed", "unsubscribed"),
            {"subscribed": "is subscribed", "unsubscribed": "has unsubscribed"},
        )
    }
    sentence = "{Member} {status}"


SUBSCRIPTION_ROW = SubscriptionRow()
