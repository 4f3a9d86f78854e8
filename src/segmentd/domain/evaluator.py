"""In-memory evaluation of a condition against one member (real-time updates, look-ups).

Must agree with ``segmentd.storage.compiler`` on every input; a property test holds them together.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from .conditions import CampaignCondition, Condition, FieldCondition, Group, TagCondition
from .fields import FieldType
from .operators import TRUE_WHEN_MISSING, Activity, Op, Relation, day_bounds, fold
from .values import Typed


@dataclass(frozen=True)
class CampaignActivity:
    """What one member did with one campaign. Storage keeps click => open => sent."""

    sent: bool = False
    opened: bool = False
    clicked: bool = False


@dataclass(frozen=True)
class Contact:
    """A member as the evaluator sees it: typed values by field key (casefolded name)."""

    values: Mapping[str, Typed | None]
    tags: frozenset[str] = frozenset()
    campaigns: Mapping[int, CampaignActivity] = field(default_factory=dict)


def evaluate(condition: Condition, contact: Contact) -> bool:
    if isinstance(condition, Group):
        results = (evaluate(item, contact) for item in condition.items)
        return all(results) if condition.relation is Relation.AND else any(results)
    if isinstance(condition, FieldCondition):
        return _field(condition, contact.values.get(condition.field.key))
    if isinstance(condition, TagCondition):
        return (condition.tag in contact.tags) == (condition.op is Op.EQ)
    return _campaign(condition, contact.campaigns.get(condition.campaign_id, CampaignActivity()))


def _field(condition: FieldCondition, actual: Typed | None) -> bool:
    if actual is None:
        return condition.op in TRUE_WHEN_MISSING
    if condition.field.type is FieldType.TIMESTAMP:
        start, end = day_bounds(condition.operand)
        return _day_compare(condition.op, int(actual), start, end)
    if condition.field.type is FieldType.TEXT:
        actual = fold(str(actual))
    return _compare(condition.op, actual, condition.operand)


def _compare(op: Op, actual: object, operand: object) -> bool:
    match op:
        case Op.EQ:
            return actual == operand
        case Op.NE:
            return actual != operand
        case Op.GT:
            return actual > operand  # type: ignore[operator]
        case Op.GE:
            return actual >= operand  # type: ignore[operator]
        case Op.LT:
            return actual < operand  # type: ignore[operator]
        case Op.LE:
            return actual <= operand  # type: ignore[operator]
        case Op.CONTAIN:
            return str(operand) in str(actual)
        case _:
            return str(operand) not in str(actual)


def _day_compare(op: Op, actual: int, start: int, end: int) -> bool:
    """Timestamps compare against a whole day [start, end)."""
    match op:
        case Op.EQ:
            return start <= actual < end
        case Op.NE:
            return not start <= actual < end
        case Op.GT:
            return actual >= end
        case Op.GE:
            return actual >= start
        case Op.LT:
            return actual < start
        case _:
            return actual < end


def _campaign(condition: CampaignCondition, activity: CampaignActivity) -> bool:
    match condition.activity:
        case Activity.SENT:
            return activity.sent
        case Activity.OPEN:
            return activity.opened
        case Activity.CLICK:
            return activity.clicked
        case Activity.UNOPEN:
            return activity.sent and not activity.opened
        case Activity.UNCLICK:
            return activity.sent and not activity.clicked
        case _:
            return not activity.sent
