"""A member as conditions see it in memory: typed values by field key, tags, campaign activity,
segments."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from .values import Typed


@dataclass(frozen=True)
class CampaignActivity:
    """What one member did with one campaign: the first time of each event, in epoch
    seconds (None: never). Storage keeps click => open => sent."""

    sent_at: int | None = None
    opened_at: int | None = None
    clicked_at: int | None = None

    @property
    def sent(self) -> bool:
        return self.sent_at is not None

    @property
    def opened(self) -> bool:
        return self.opened_at is not None

    @property
    def clicked(self) -> bool:
        return self.clicked_at is not None


@dataclass(frozen=True)
class Contact:
    """A member as the evaluator sees it: typed values by field key (casefolded name), and
    ``segments``: the ids of the segments whose published membership holds it, as of the
    transaction (what segment leaves read; filled only where a condition reads one)."""

    values: Mapping[str, Typed | None]
    tags: frozenset[str] = frozenset()
    campaigns: Mapping[int, CampaignActivity] = field(default_factory=dict)
    segments: frozenset[str] = frozenset()
