"""What the engagement and recency leaves ask of ``campaign_activity``: rows recording an
event (at or after a time), and members whose rows, as a group, pass a count."""

from __future__ import annotations

from ...domain.campaign_events import CampaignEvent
from ..clickhouse_schema import CAMPAIGN_ACTIVITY
from .ch_leaf_compiler import Scope, either, number

_TIMES: dict[CampaignEvent, tuple[str, ...]] = {
    CampaignEvent.SENT: ("sent_at",),
    CampaignEvent.OPEN: ("opened_at",),
    CampaignEvent.CLICK: ("clicked_at",),
    CampaignEvent.ENGAGED: ("opened_at", "clicked_at"),  # the later of the two: either
}


def records(event: CampaignEvent, since: int | None) -> str:
    """The row records ``event``, at ``since`` or later when given (never NULL)."""
    tests = [
        f"isNotNull({c})" if since is None else f"ifNull({c} >= {number(since)}, 0)"
        for c in _TIMES[event]
    ]
    return either(*tests)


def has_rows(scope: Scope, test: str, having: str = "") -> str:
    return scope.member_in(CAMPAIGN_ACTIVITY, test, having)
