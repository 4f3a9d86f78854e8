"""SQL of a tag list test: ``member_tags`` rows naming the tags, by id."""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.sql import ColumnElement

from ...domain.condition_types.tag_set_leaf import SetOp, TagSetCondition
from ..schema import member_tags, members
from .leaf_compiler import IdRange, in_range, of_tenant


def compile_tag_set(
    condition: TagSetCondition, ids: IdRange | None, tenant_id: int | None
) -> ColumnElement[bool]:
    tagged = (
        of_tenant(member_tags.c.tenant_id, tenant_id),
        member_tags.c.member_id == members.c.id,
        *in_range(member_tags.c.member_id, ids),
        member_tags.c.tag_id.in_(condition.tag_ids),
    )
    if condition.op is SetOp.ALL_OF:
        # A member holds a tag at most once (the primary key), so the count is of distinct tags.
        held = sa.select(sa.func.count()).where(*tagged).scalar_subquery()
        return held == len(condition.tag_ids)
    has_any = sa.exists().where(*tagged)
    return has_any if condition.op is SetOp.ANY_OF else ~has_any
