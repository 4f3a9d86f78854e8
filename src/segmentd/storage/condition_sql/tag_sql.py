"""SQL of a tag test: whether a ``member_tags`` row names the tag."""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.sql import ColumnElement

from ...domain.condition_types.tag_leaf import TagCondition
from ...domain.operators import Op
from ..schema import member_tags, members, tags
from .leaf_compiler import IdRange, in_range, of_tenant


def compile_tag(
    condition: TagCondition, ids: IdRange | None, tenant_id: int | None
) -> ColumnElement[bool]:
    has_tag = sa.exists().where(
        of_tenant(member_tags.c.tenant_id, tenant_id),
        member_tags.c.member_id == members.c.id,
        *in_range(member_tags.c.member_id, ids),
        of_tenant(tags.c.tenant_id, tenant_id),
        tags.c.id == member_tags.c.tag_id,
        tags.c.name == condition.tag,
    )
    return has_tag if condition.op is Op.EQ else ~has_tag
