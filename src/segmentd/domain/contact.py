"""A member as conditions see it in memory: typed values by field key, tags, campaign activity,
segments."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from .values import Typed


@dataclass(frozen=True)
class CampaignActivity:
    """What one member did with one campaign. Storage keeps click => open => sent."""

    sent: bool = False
    opened: bool = False
    clicked: bool = False


@dataclass(frozen=True)
class Contact:
    """A member as the evaluator sees it: typed values by field key (casefolded name), and
    ``segments``: the ids of the segments whose published membership holds it, as of the
    transaction (what segment leaves read; filled only where a condition reads one)."""

    values: Mapping[str, Typed | None]
    tags: frozenset[str] = frozenset()
    campaigns: Mapping[int, CampaignActivity] = field(default_factory=dict)
    segments: frozenset[str] = frozenset()
