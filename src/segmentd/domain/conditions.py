"""The condition tree. Each leaf type has one evaluator and one SQL builder."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from .fields import FieldDef
from .operators import Activity, Op, Operand, Relation


@dataclass(frozen=True)
class FieldCondition:
    field: FieldDef
    op: Op
    value: str
    operand: Operand


@dataclass(frozen=True)
class TagCondition:
    """``==`` holds when the member has the tag, ``!=`` when it does not."""

    tag: str
    op: Op


@dataclass(frozen=True)
class CampaignCondition:
    campaign_id: int
    activity: Activity


@dataclass(frozen=True)
class Group:
    relation: Relation
    items: tuple[Condition, ...]


Leaf = FieldCondition | TagCondition | CampaignCondition
Condition = Leaf | Group


def leaves(condition: Condition) -> list[Leaf]:
    if isinstance(condition, Group):
        return [leaf for item in condition.items for leaf in leaves(item)]
    return [condition]


@dataclass(frozen=True)
class Inputs:
    """What of a member a condition reads, or what a change to a member touched.

    A condition keeps its answer for a member whose change touched none of its inputs: a
    real-time update re-evaluates only the segments a change can move (issue #4).
    """

    fields: frozenset[str] = frozenset()  # field keys
    tags: bool = False
    campaigns: bool = False

    def overlaps(self, other: Inputs) -> bool:
        return (
            bool(self.fields & other.fields)
            or (self.tags and other.tags)
            or (self.campaigns and other.campaigns)
        )


def inputs(condition: Condition) -> Inputs:
    found = leaves(condition)
    return Inputs(
        fields=frozenset(leaf.field.key for leaf in found if isinstance(leaf, FieldCondition)),
        tags=any(isinstance(leaf, TagCondition) for leaf in found),
        campaigns=any(isinstance(leaf, CampaignCondition) for leaf in found),
    )


def to_wire(condition: Condition) -> dict[str, Any]:
    """The EngageLab JSON shape of a condition (nested groups keep their own relation)."""
    if isinstance(condition, Group):
        return {"relation": str(condition.relation), "items": [to_wire(i) for i in condition.items]}
    if isinstance(condition, FieldCondition):
        return {
            "campaign_id": None,
            "field_name": condition.field.name,
            "op": str(condition.op),
            "value": condition.value,
        }
    if isinstance(condition, TagCondition):
        return {
            "campaign_id": None,
            "field_name": "tag",
            "op": str(condition.op),
            "value": condition.tag,
        }
    return {
        "campaign_id": condition.campaign_id,
        "field_name": "campaign",
        "op": "==",
        "value": str(condition.activity),
    }
