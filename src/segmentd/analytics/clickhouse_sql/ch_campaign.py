"""ClickHouse SQL of a campaign activity test: what the member's row for the campaign
records."""

from __future__ import annotations

from ...domain.condition_types.campaign_leaf import CampaignCondition
from ...domain.operators import Activity
from ..clickhouse_schema import CAMPAIGN_ACTIVITY
from .ch_leaf_compiler import Scope, both, number


def compile_campaign_ch(condition: CampaignCondition, scope: Scope) -> str:
    campaign = f"campaign_id = {number(condition.campaign_id)}"

    def did(*tests: str) -> str:
        return scope.member_in(CAMPAIGN_ACTIVITY, both(campaign, *tests))

    sent = "isNotNull(sent_at)"
    match condition.activity:
        case Activity.SENT:
            return did(sent)
        case Activity.OPEN:
            return did("isNotNull(opened_at)")
        case Activity.CLICK:
            return did("isNotNull(clicked_at)")
        case Activity.UNOPEN:
            return did(sent, "isNull(opened_at)")
        case Activity.UNCLICK:
            return did(sent, "isNull(clicked_at)")
        case _:
            return f"NOT {did(sent)}"
