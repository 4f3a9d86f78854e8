"""A member as conditions see it in memory: typed values by field key, tags, campaign activity."""

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
    """A member as the evaluator sees it: typed values by field key (casefolded name)."""

    values: Mapping[str, Typed | None]
    tags: frozenset[str] = frozenset()
    campaigns: Mapping[int, CampaignActivity] = field(default_factory=dict)
