"""Every leaf type, registered once; lookups by kind, by leaf class and by flat name."""

from __future__ import annotations

from collections.abc import Mapping

from ..conditions import Condition, Inputs, Leaf, leaves
from .campaign_leaf import CAMPAIGN
from .engagement_leaf import ENGAGEMENT
from .field_leaf import FIELD
from .last_activity_leaf import LAST_ACTIVITY
from .leaf_type import ConditionType
from .segment_leaf import SEGMENT
from .subscription_leaf import SUBSCRIPTION
from .tag_leaf import TAG
from .tag_set_leaf import TAG_SET

TYPES: tuple[ConditionType, ...] = (
    FIELD,
    TAG,
    CAMPAIGN,
    TAG_SET,
    SUBSCRIPTION,
    SEGMENT,
    ENGAGEMENT,
    LAST_ACTIVITY,
)

BY_KIND: Mapping[str, ConditionType] = {t.kind: t for t in TYPES}
BY_LEAF: Mapping[type[Leaf], ConditionType] = {t.leaf: t for t in TYPES}
# The flat form picks a type by field_name: "tag", "campaign", or any other name (a field).
BY_FLAT_NAME: Mapping[str, ConditionType] = {t.flat_name: t for t in TYPES if t.flat_name}
FLAT_DEFAULT = FIELD


def type_of(leaf: Leaf) -> ConditionType:
    return BY_LEAF[type(leaf)]


def moves_with_time(condition: Condition) -> bool:
    """Whether the condition's answer for a member can change with the day alone."""
    return any(BY_LEAF[type(leaf)].moves_with_time(leaf) for leaf in leaves(condition))


def inputs(condition: Condition) -> Inputs:
    """What of a member the condition reads."""
    found = Inputs()
    for leaf in leaves(condition):
        found = found | BY_LEAF[type(leaf)].reads(leaf)
    return found
