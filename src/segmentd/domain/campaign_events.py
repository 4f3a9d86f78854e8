"""The campaign events that engagement conditions count and date, across all campaigns, and
when a member's activity with one campaign recorded each."""

from __future__ import annotations

from enum import StrEnum

from .contact import CampaignActivity


class CampaignEvent(StrEnum):
    SENT = "sent"
    OPEN = "open"
    CLICK = "click"
    ENGAGED = "engaged"  # an open or a click


COUNTED = (CampaignEvent.SENT, CampaignEvent.OPEN, CampaignEvent.CLICK)


def event_time(activity: CampaignActivity, event: CampaignEvent) -> int | None:
    """The time ``activity`` records for ``event`` (None: never); for ``engaged``, the later
    of its open and its click."""
    match event:
        case CampaignEvent.SENT:
            return activity.sent_at
        case CampaignEvent.OPEN:
            return activity.opened_at
        case CampaignEvent.CLICK:
            return activity.clicked_at
        case _:
            times = [t for t in (activity.opened_at, activity.clicked_at) if t is not None]
            return max(times, default=None)
