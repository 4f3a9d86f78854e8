"""ClickHouse SQL of a tag test: whether a ``member_tags`` row holds the tag's id (the
catalog names one id per tag name, so this is the evaluator's test by name)."""

from __future__ import annotations

from ...domain.condition_types.tag_leaf import TagCondition
from ...domain.operators import Op
from ..clickhouse_schema import MEMBER_TAGS
from .ch_leaf_compiler import Scope, number


def compile_tag_ch(condition: TagCondition, scope: Scope) -> str:
    held = scope.member_in(MEMBER_TAGS, f"tag_id = {number(condition.tag_id)}")
    return held if condition.op is Op.EQ else f"NOT {held}"
