"""Compile a condition tree to a SQLAlchemy Core boolean over ``members``.

Must agree with ``segmentd.domain.evaluator`` on every input; a property test runs both on
SQLite and PostgreSQL. Each leaf type has one builder, as each has one evaluator.
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql import ColumnElement
from sqlalchemy.sql.functions import GenericFunction

from ..domain.conditions import CampaignCondition, Condition, FieldCondition, Group, TagCondition
from ..domain.fields import FieldDef, FieldType, SystemField
from ..domain.operators import TRUE_WHEN_MISSING, Activity, Op, Relation, day_bounds
from .schema import campaign_activity, member_tags, members, tags

_UPPER = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"


class ascii_lower(GenericFunction[str]):
    """Lower-case ASCII letters only, as ``domain.operators.fold`` does."""

    type = sa.Text()
    inherit_cache = True


class text_position(GenericFunction[int]):
    """1-based position of the second string in the first, 0 when absent."""

    type = sa.Integer()
    inherit_cache = True


@compiles(ascii_lower, "sqlite")
def _ascii_lower_sqlite(element: Any, compiler: Any, **kw: Any) -> str:
    # SQLite's built-in lower() folds ASCII only (without the ICU extension).
    return f"lower({compiler.process(element.clauses, **kw)})"


@compiles(ascii_lower, "postgresql")
def _ascii_lower_postgresql(element: Any, compiler: Any, **kw: Any) -> str:
    return f"translate({compiler.process(element.clauses, **kw)}, '{_UPPER}', '{_UPPER.lower()}')"


@compiles(text_position, "sqlite")
def _position_sqlite(element: Any, compiler: Any, **kw: Any) -> str:
    return f"instr({compiler.process(element.clauses, **kw)})"


@compiles(text_position, "postgresql")
def _position_postgresql(element: Any, compiler: Any, **kw: Any) -> str:
    return f"strpos({compiler.process(element.clauses, **kw)})"


SYSTEM_COLUMNS: dict[str, sa.Column[Any]] = {
    SystemField.EMAIL: members.c.email_key,  # already folded, so equality can use the index
    SystemField.NAME: members.c.name,
    SystemField.PHONE: members.c.phone,
    SystemField.DOMAIN: members.c.domain,
    SystemField.CREATE_TIME: members.c.created_at,
    SystemField.UPDATE_TIME: members.c.updated_at,
    SystemField.UNSUBSCRIBE_TIME: members.c.unsubscribed_at,
}

NUMERIC_TYPES = frozenset({FieldType.NUMBER, FieldType.DATE, FieldType.BIRTHDAY})


def field_column(field: FieldDef) -> sa.Column[Any]:
    """The ``members`` column that holds ``field``'s typed value."""
    if field.system:
        return SYSTEM_COLUMNS[field.name]
    prefix = "n" if field.type in NUMERIC_TYPES else "t"
    return members.c[f"{prefix}{field.slot}"]


IdRange = tuple[int, int]


def compile_condition(condition: Condition, ids: IdRange | None = None) -> ColumnElement[bool]:
    """``ids`` = (lo, hi] when the caller already keeps ``members.id`` in that range.

    Performance (issue #5): the tag and campaign subqueries then repeat the range on their own
    member column. It selects nothing more or less, but PostgreSQL does not carry a range
    across a join, and without it a build chunk read every activity row of the campaign.
    """
    if isinstance(condition, Group):
        parts = [compile_condition(item, ids) for item in condition.items]
        return sa.and_(*parts) if condition.relation is Relation.AND else sa.or_(*parts)
    if isinstance(condition, FieldCondition):
        return _field(condition)
    if isinstance(condition, TagCondition):
        return _tag(condition, ids)
    return _campaign(condition, ids)


def _in_range(column: sa.Column[Any], ids: IdRange | None) -> list[ColumnElement[bool]]:
    return [] if ids is None else [column > ids[0], column <= ids[1]]


def _field(condition: FieldCondition) -> ColumnElement[bool]:
    column: ColumnElement[Any] = field_column(condition.field)
    if condition.field.type is FieldType.TEXT and condition.field.name != SystemField.EMAIL:
        column = ascii_lower(column)
    if condition.field.type is FieldType.TIMESTAMP:
        start, end = day_bounds(condition.operand)
        test = _day_compare(condition.op, column, start, end)
    else:
        test = _compare(condition.op, column, condition.operand)
    if condition.op in TRUE_WHEN_MISSING:
        return sa.or_(field_column(condition.field).is_(None), test)
    return test


def _compare(op: Op, column: ColumnElement[Any], operand: Any) -> ColumnElement[bool]:
    match op:
        case Op.EQ:
            return column == operand
        case Op.NE:
            return column != operand
        case Op.GT:
            return column > operand
        case Op.GE:
            return column >= operand
        case Op.LT:
            return column < operand
        case Op.LE:
            return column <= operand
        case Op.CONTAIN:
            return text_position(column, sa.literal(operand, sa.Text)) > 0
        case _:
            return text_position(column, sa.literal(operand, sa.Text)) == 0


def _day_compare(op: Op, column: ColumnElement[Any], start: int, end: int) -> ColumnElement[bool]:
    match op:
        case Op.EQ:
            return sa.and_(column >= start, column < end)
        case Op.NE:
            return sa.or_(column < start, column >= end)
        case Op.GT:
            return column >= end
        case Op.GE:
            return column >= start
        case Op.LT:
            return column < start
        case _:
            return column < end


def _tag(condition: TagCondition, ids: IdRange | None) -> ColumnElement[bool]:
    has_tag = sa.exists().where(
        member_tags.c.tenant_id == members.c.tenant_id,
        member_tags.c.member_id == members.c.id,
        *_in_range(member_tags.c.member_id, ids),
        tags.c.tenant_id == members.c.tenant_id,
        tags.c.id == member_tags.c.tag_id,
        tags.c.name == condition.tag,
    )
    return has_tag if condition.op is Op.EQ else ~has_tag


def _campaign(condition: CampaignCondition, ids: IdRange | None) -> ColumnElement[bool]:
    activity = campaign_activity.c

    def did(*tests: ColumnElement[bool]) -> sa.Exists:
        return sa.exists().where(
            activity.tenant_id == members.c.tenant_id,
            activity.campaign_id == condition.campaign_id,
            activity.member_id == members.c.id,
            *_in_range(activity.member_id, ids),
            *tests,
        )

    sent = activity.sent_at.is_not(None)
    match condition.activity:
        case Activity.SENT:
            return did(sent)
        case Activity.OPEN:
            return did(activity.opened_at.is_not(None))
        case Activity.CLICK:
            return did(activity.clicked_at.is_not(None))
        case Activity.UNOPEN:
            return did(sent, activity.opened_at.is_(None))
        case Activity.UNCLICK:
            return did(sent, activity.clicked_at.is_(None))
        case _:
            return ~did(sent)
