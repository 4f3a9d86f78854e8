"""SQL of a tag list test: ``member_tags`` rows naming the tags, by id."""

from __future__ import annotations

from sqlalchemy.sql import ColumnElement

from ...domain.condition_types.tag_set_leaf import SetOp, TagSetCondition
from ..schema import member_tags
from .leaf_compiler import IdRange
from .tag_rows import tagged_set


def compile_tag_set(
    condition: TagSetCondition, ids: IdRange | None, tenant_id: int | None
) -> ColumnElement[bool]:
    named = [member_tags.c.tag_id.in_(condition.tag_ids)]
    if condition.op is SetOp.ALL_OF:
        return tagged_set(named, ids, tenant_id, count_is=len(condition.tag_ids))
    has_any = tagged_set(named, ids, tenant_id)
    return has_any if condition.op is SetOp.ANY_OF else ~has_any
