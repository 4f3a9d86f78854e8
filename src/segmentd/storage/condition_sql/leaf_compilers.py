"""The SQL compiler of every leaf kind (``domain.condition_types.leaf_types`` lists the kinds)."""

from __future__ import annotations

from collections.abc import Mapping

from ...domain.condition_types import (
    campaign_leaf,
    engagement_leaf,
    field_leaf,
    last_activity_leaf,
    segment_leaf,
    subscription_leaf,
    tag_leaf,
    tag_set_leaf,
)
from .campaign_sql import compile_campaign
from .engagement_sql import compile_engagement
from .field_sql import compile_field
from .last_activity_sql import compile_last_activity
from .leaf_compiler import LeafCompiler
from .subscription_sql import compile_subscription
from .tag_set_sql import compile_tag_set
from .tag_sql import compile_tag

COMPILERS: Mapping[str, LeafCompiler] = {
    field_leaf.KIND: compile_field,
    tag_leaf.KIND: compile_tag,
    campaign_leaf.KIND: compile_campaign,
    tag_set_leaf.KIND: compile_tag_set,
    subscription_leaf.KIND: compile_subscription,
    engagement_leaf.KIND: compile_engagement,
    last_activity_leaf.KIND: compile_last_activity,
}

# Kinds that read another segment's published membership: ``storage.compiler`` compiles them
# with the membership's reader the caller passes (``segment_sql``).
MEMBERSHIP_KINDS = frozenset({segment_leaf.KIND})
