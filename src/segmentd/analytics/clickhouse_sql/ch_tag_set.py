"""ClickHouse SQL of a tag list test: ``member_tags`` rows naming any or all of the ids."""

from __future__ import annotations

from ...domain.condition_types.tag_set_leaf import SetOp, TagSetCondition
from ..clickhouse_schema import MEMBER_TAGS
from .ch_leaf_compiler import Scope, number


def compile_tag_set_ch(condition: TagSetCondition, scope: Scope) -> str:
    listed = f"tag_id IN ({', '.join(number(t) for t in condition.tag_ids)})"
    if condition.op is SetOp.ALL_OF:
        # Distinct ids: a row repeated (an at-least-once copy) still counts one tag.
        wanted = number(len(set(condition.tag_ids)))
        return scope.member_in(MEMBER_TAGS, listed, having=f"uniqExact(tag_id) = {wanted}")
    has_any = scope.member_in(MEMBER_TAGS, listed)
    return has_any if condition.op is SetOp.ANY_OF else f"NOT {has_any}"
