"""A time-dependent leaf for tests of the daily refresh, registered only while a test runs.

``{"kind": "test_recent", "field": "custom:12", "days": 2}``: the member's date field is one
of the last ``days`` days or today (today - days <= date <= today, in the tenant's zone). Like
every relative leaf, it is read against the context's day: a loaded tree holds absolute
bounds, and ``moves_with_time`` says so. The real relative leaves live in
``domain/condition_types``; this one keeps the refresh's tests independent of them.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, ClassVar

import pytest
import sqlalchemy as sa
from sqlalchemy.sql import ColumnElement

from segmentd.domain import evaluator
from segmentd.domain.condition_types import leaf_types
from segmentd.domain.condition_types.field_leaf import field_of, stored_key
from segmentd.domain.condition_types.leaf_type import ConditionContext, ConditionType
from segmentd.domain.conditions import Inputs, Leaf
from segmentd.domain.contact import Contact
from segmentd.domain.errors import DomainValidationError
from segmentd.domain.fields import Catalog, FieldDef
from segmentd.domain.values import EPOCH
from segmentd.storage.condition_sql import leaf_compilers
from segmentd.storage.member_columns import field_column

KIND = "test_recent"


@dataclass(frozen=True)
class RecentDate(Leaf):
    field: FieldDef
    days: int
    start: int  # days since 1970-01-01: today - days
    end: int  # today
    kind: ClassVar[str] = KIND


def stored(field: FieldDef, days: int) -> dict[str, Any]:
    return {"kind": KIND, "field": stored_key(field), "days": days}


def _load(raw: Mapping[str, Any], ctx: ConditionContext, path: str) -> RecentDate:
    field = field_of(ctx.catalog, raw.get("field"))
    if field is None:
        raise DomainValidationError(f"{path}.field", f"field {raw.get('field')} does not exist")
    days = int(raw["days"])
    today = (ctx.today - EPOCH).days
    return RecentDate(field, days, today - days, today)


def _from_native(raw: Mapping[str, Any], ctx: ConditionContext, path: str) -> RecentDate:
    """The native form names the field: ``{"kind": "test_recent", "field": "Joined", ...}``."""
    field = ctx.catalog.field(str(raw.get("field")))
    if field is None:
        raise DomainValidationError(f"{path}.field", f"field {raw.get('field')} does not exist")
    return _load({**raw, "field": stored_key(field)}, ctx, path)


def _to_native(raw: Mapping[str, Any], catalog: Catalog) -> dict[str, Any]:
    return dict(raw)


def _evaluate(leaf: RecentDate, contact: Contact) -> bool:
    value = contact.values.get(leaf.field.key)
    return value is not None and leaf.start <= float(value) <= leaf.end


def _compile(leaf: RecentDate, ids: Any, tenant_id: int | None) -> ColumnElement[bool]:
    column = field_column(leaf.field)
    return sa.and_(column >= leaf.start, column <= leaf.end)


RECENT = ConditionType(
    kind=KIND,
    leaf=RecentDate,
    flat_name=None,
    load=_load,
    dump=lambda leaf: stored(leaf.field, leaf.days),
    from_native=_from_native,
    to_native=_to_native,
    evaluate=_evaluate,
    reads=lambda leaf: Inputs(fields=frozenset({leaf.field.key})),
    describe=lambda leaf: f"{leaf.field.name} in the last {leaf.days} days",
    moves_with_time=lambda leaf: True,
)


@contextmanager
def recent_leaf() -> Iterator[None]:
    """Register the leaf in every registry a condition goes through, for the block."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setitem(leaf_types.BY_KIND, KIND, RECENT)  # type: ignore[arg-type]
        patch.setitem(leaf_types.BY_LEAF, RecentDate, RECENT)  # type: ignore[arg-type]
        patch.setitem(evaluator._EVALUATORS, RecentDate, _evaluate)  # type: ignore[arg-type]
        patch.setitem(leaf_compilers.COMPILERS, KIND, _compile)  # type: ignore[arg-type]
        yield
