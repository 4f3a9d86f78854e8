"""Which leaves SQLite tests member by member when an "any" group reaches them only after
other alternatives.

Performance: knowing the tenant, an activity leaf reads the range's activity rows once, as a
set (``activity_rows``); its cost is every row of the range, whoever is tested against it.
A leaf after other alternatives of an "any" group is tested only for the members those left
undecided, and a test of one member's rows that stops at the first passing row (the
correlated form, as without the tenant) then costs less. Counts of rows ("opened at least 3")
read all of a member's rows either way, and stay sets. PostgreSQL keeps the set: its hashed
subplan costs about what seeks per member do.
"""

from __future__ import annotations

from sqlalchemy.sql import ColumnElement

from ...domain.condition_types.engagement_leaf import EngagementCondition
from ...domain.condition_types.last_activity_leaf import LastActivityCondition
from ...domain.conditions import Condition
from ..per_dialect import PerDialect
from .engagement_sql import any_or_no_row
from .leaf_compiler import IdRange, LeafCompiler


def stops_at_first_row(condition: Condition) -> bool:
    """Whether the leaf asks only if the member has a row passing its tests (or none)."""
    if isinstance(condition, LastActivityCondition):
        return True
    if isinstance(condition, EngagementCondition):
        return any_or_no_row(condition.count_op, condition.count)
    return False


def compile_alternative(
    compile_leaf: LeafCompiler, condition: Condition, ids: IdRange | None, tenant_id: int | None
) -> ColumnElement[bool]:
    """A leaf that an "any" group reaches after other alternatives: member by member on
    SQLite when it stops at a member's first row (its form without the tenant), else as
    ``compile_leaf`` makes it."""
    as_set = compile_leaf(condition, ids, tenant_id)
    if tenant_id is None or not stops_at_first_row(condition):
        return as_set
    return PerDialect(compile_leaf(condition, ids, None), as_set)
