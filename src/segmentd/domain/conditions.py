"""The condition tree: and/or groups of leaves. Each leaf type is one module of
``condition_types`` (its parse, stored form, evaluation and inputs), registered once there."""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from .operators import Relation

MAX_CONDITIONS = 10
MAX_DEPTH = 4  # nested groups (stored form only); bounds recursion on hostile input


class Leaf:
    """A condition that tests one thing of a member; ``kind`` names its type."""

    __slots__ = ()
    kind: ClassVar[str]


@dataclass(frozen=True)
class Group:
    relation: Relation
    items: tuple[Condition, ...]


Condition = Leaf | Group


def leaves(condition: Condition) -> list[Leaf]:
    if isinstance(condition, Group):
        return [leaf for item in condition.items for leaf in leaves(item)]
    return [condition]


@dataclass(frozen=True)
class Inputs:
    """What of a member a condition reads, or what a change to a member touched.

    A condition keeps its answer for a member whose change touched none of its inputs: a
    real-time update re-evaluates only the segments a change can move.
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

    def __or__(self, other: Inputs) -> Inputs:
        return Inputs(
            self.fields | other.fields, self.tags or other.tags, self.campaigns or other.campaigns
        )
