"""The ClickHouse compiler of every leaf kind (``domain.condition_types.leaf_types`` lists the
kinds; ``storage.condition_sql.leaf_compilers`` holds their SQLite and PostgreSQL SQL)."""

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
from .ch_campaign import compile_campaign_ch
from .ch_engagement import compile_engagement_ch
from .ch_field import compile_field_ch
from .ch_last_activity import compile_last_activity_ch
from .ch_leaf_compiler import LeafCompiler
from .ch_segment import compile_segment_ch
from .ch_subscription import compile_subscription_ch
from .ch_tag import compile_tag_ch
from .ch_tag_set import compile_tag_set_ch

CH_COMPILERS: Mapping[str, LeafCompiler] = {
    field_leaf.KIND: compile_field_ch,
    tag_leaf.KIND: compile_tag_ch,
    campaign_leaf.KIND: compile_campaign_ch,
    tag_set_leaf.KIND: compile_tag_set_ch,
    subscription_leaf.KIND: compile_subscription_ch,
    segment_leaf.KIND: compile_segment_ch,
    engagement_leaf.KIND: compile_engagement_ch,
    last_activity_leaf.KIND: compile_last_activity_ch,
}
