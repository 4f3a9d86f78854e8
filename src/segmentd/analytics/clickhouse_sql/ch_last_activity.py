"""ClickHouse SQL of a recency test: whether the member has ``campaign_activity`` rows
recording the event at all, and rows recording it on day D or later."""

from __future__ import annotations

from ...domain.condition_types.last_activity_leaf import LastActivityCondition, RecencyOp
from .ch_activity_rows import has_rows, records
from .ch_leaf_compiler import Scope


def compile_last_activity_ch(condition: LastActivityCondition, scope: Scope) -> str:
    ever = has_rows(scope, records(condition.activity, None))
    if condition.op is RecencyOp.NEVER:
        return f"NOT {ever}"
    recent = has_rows(scope, records(condition.activity, condition.since))
    if condition.op is RecencyOp.IN_LAST:
        return recent
    return f"({ever} AND NOT {recent})"
