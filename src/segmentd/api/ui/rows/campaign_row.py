"""The campaign row: what the member did with one campaign (sent, opened, clicked ...)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ....domain.fields import SEGMENTABLE_CAMPAIGN_STATUSES
from ....domain.ids import ascii_int
from ....domain.operators import Activity
from ..vocab import ACTIVITY_WORDS
from .leaf_row import Choice, LeafInputs, LeafRow, NativeLeaf, Picks, Translate, fitted, shown

KIND = "campaign"
ACTIVITIES = tuple(str(a) for a in Activity)


class CampaignRow(LeafRow):
    kind = KIND
    label = "Campaign activity"
    group = "Campaigns"
    parts = ("kind", "campaign", "activity")

    def read(self, inputs: LeafInputs, subject: str, picks: Picks) -> NativeLeaf:
        text = inputs.text("campaign")
        campaign = ascii_int(text, 15) if text else None
        return {
            "kind": KIND,
            "campaign": text if text and campaign is None else campaign,
            "activity": inputs.text("activity"),
        }

    def fit(self, leaf: NativeLeaf, picks: Picks) -> NativeLeaf:
        return {**leaf, "activity": fitted(leaf.get("activity"), ACTIVITIES)}

    def view(self, leaf: NativeLeaf, picks: Picks) -> Mapping[str, Any]:
        campaigns = tuple(
            Choice(
                str(c.id),
                f"{c.name} (#{c.id}, {c.status})",
                disabled=c.status not in SEGMENTABLE_CAMPAIGN_STATUSES,
            )
            for c in picks.campaigns
        )
        activities = tuple(Choice(str(a), ACTIVITY_WORDS[a]) for a in Activity)
        return {"campaigns": campaigns, "activities": activities}

    def describe(self, leaf: NativeLeaf, picks: Picks, _: Translate) -> str:
        campaign_id, activity = leaf.get("campaign"), shown(leaf.get("activity"))
        name = picks.campaign_names.get(campaign_id) if isinstance(campaign_id, int) else None
        campaign = f"“{name}” (#{campaign_id})" if name else f"#{shown(campaign_id)}"
        words = ACTIVITY_WORDS.get(Activity(activity)) if activity in ACTIVITIES else activity
        return f"{_('Member')} {_(words or activity)} {campaign}"

    def is_empty(self, leaf: NativeLeaf) -> bool:
        return leaf.get("campaign") is None


CAMPAIGN_ROW = CampaignRow()
