"""SQL of a recency test: whether the member has ``campaign_activity`` rows recording the
event at all, and rows recording it on day D or later. Never NULL."""

from __future__ import annotations

from sqlalchemy.sql import ColumnElement

from ...domain.condition_types.last_activity_leaf import LastActivityCondition, RecencyOp
from .activity_rows import has_rows, records
from .leaf_compiler import IdRange


def compile_last_activity(
    condition: LastActivityCondition, ids: IdRange | None, tenant_id: int | None
) -> ColumnElement[bool]:
    ever = has_rows([records(condition.activity, None)], ids, tenant_id)
    if condition.op is RecencyOp.NEVER:
        return ~ever
    recent = has_rows([records(condition.activity, condition.since)], ids, tenant_id)
    if condition.op is RecencyOp.IN_LAST:
        return recent
    return ever & ~recent
