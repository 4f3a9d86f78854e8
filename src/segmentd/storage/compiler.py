"""Compile a condition tree to a SQLAlchemy Core boolean over ``members``.

Must agree with ``segmentd.domain.evaluator`` on every input; a property test runs both on
SQLite and PostgreSQL. Each leaf kind has one builder (``condition_sql``), as each has one
evaluator.
"""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.sql import ColumnElement

from ..domain.condition_types.segment_leaf import SegmentCondition
from ..domain.conditions import Condition, Group, Not
from ..domain.operators import Relation
from .condition_sql.alternatives import compile_alternative
from .condition_sql.leaf_compiler import IdRange
from .condition_sql.leaf_compilers import COMPILERS
from .condition_sql.segment_sql import PublishedMembership, compile_segment


def compile_condition(
    condition: Condition,
    ids: IdRange | None = None,
    tenant_id: int | None = None,
    segments: PublishedMembership | None = None,
    alternative: bool = False,
) -> ColumnElement[bool]:
    """``ids`` = (lo, hi] when the caller already keeps ``members.id`` in that range (the tag
    and campaign subqueries then repeat it: ``condition_sql.leaf_compiler.in_range``);
    ``tenant_id`` when it keeps ``members.tenant_id`` equal to it (the engagement subqueries
    then read the tenant's activity once, not once per member: ``condition_sql.activity_rows``).
    ``segments``: the membership's reader of published generations, which a condition
    testing segment membership needs (``condition_sql.segment_sql``). ``alternative``: the
    condition is reached only after other alternatives of an "any" group above it
    (``condition_sql.alternatives``)."""
    if isinstance(condition, Group):
        either = condition.relation is Relation.OR
        parts = [
            compile_condition(item, ids, tenant_id, segments, alternative or (either and k > 0))
            for k, item in enumerate(condition.items)
        ]
        return sa.or_(*parts) if either else sa.and_(*parts)
    if isinstance(condition, Not):
        # A leaf may be NULL where the evaluator says False (a comparison with no value):
        # NOT NULL is NULL, so the negation must see False.
        negated = compile_condition(condition.item, ids, tenant_id, segments, alternative)
        return sa.not_(sa.func.coalesce(negated, sa.false()))
    if isinstance(condition, SegmentCondition):
        return compile_segment(condition, ids, segments)
    if alternative:
        return compile_alternative(COMPILERS[condition.kind], condition, ids, tenant_id)
    return COMPILERS[condition.kind](condition, ids, tenant_id)
