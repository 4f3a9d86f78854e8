"""SQL of a tag test: whether a ``member_tags`` row names the tag."""

from __future__ import annotations

from sqlalchemy.sql import ColumnElement

from ...domain.condition_types.tag_leaf import TagCondition
from ...domain.operators import Op
from ..schema import member_tags, tags
from .leaf_compiler import IdRange, of_tenant
from .tag_rows import tagged_set


def compile_tag(
    condition: TagCondition, ids: IdRange | None, tenant_id: int | None
) -> ColumnElement[bool]:
    named = [
        of_tenant(tags.c.tenant_id, tenant_id),
        tags.c.id == member_tags.c.tag_id,
        tags.c.name == condition.tag,
    ]
    has_tag = tagged_set(named, ids, tenant_id)
    return has_tag if condition.op is Op.EQ else ~has_tag
