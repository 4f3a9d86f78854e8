"""SQL of a campaign activity test: what the member's ``campaign_activity`` row records."""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.sql import ColumnElement

from ...domain.condition_types.campaign_leaf import CampaignCondition
from ...domain.operators import Activity
from ..schema import campaign_activity, members
from .leaf_compiler import IdRange, in_range_beside


def compile_campaign(
    condition: CampaignCondition, ids: IdRange | None, tenant_id: int | None
) -> ColumnElement[bool]:
    activity = campaign_activity.c

    def did(*tests: ColumnElement[bool]) -> sa.Exists:
        return sa.exists().where(
            activity.tenant_id == members.c.tenant_id,
            activity.campaign_id == condition.campaign_id,
            activity.member_id == members.c.id,
            *in_range_beside(activity.member_id, ids),
            *tests,
        )

    sent = activity.sent_at.is_not(None)
    match condition.activity:
        case Activity.SENT:
            return did(sent)
        case Activity.OPEN:
            return did(activity.opened_at.is_not(None))
        case Activity.CLICK:
            return did(activity.clicked_at.is_not(None))
        case Activity.UNOPEN:
            return did(sent, activity.opened_at.is_(None))
        case Activity.UNCLICK:
            return did(sent, activity.clicked_at.is_(None))
        case _:
            return ~did(sent)
