"""The condition tree: and/or groups and negations of leaves, at any depth up to
``MAX_DEPTH``. Each leaf type is one module of ``condition_types`` (its parse, stored and
native forms, evaluation and inputs), registered once there."""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from .operators import Relation

MAX_CONDITIONS = 10  # the flat form's items (EngageLab's limit)
MAX_DEPTH = 6  # groups and negations nested in one another, the root counting as 1
MAX_LEAVES = 50  # leaves in one tree
MAX_ITEMS = 20  # items in one group


class Leaf:
    """A condition that tests one thing of a member; ``kind`` names its type."""

    __slots__ = ()
    kind: ClassVar[str]


@dataclass(frozen=True)
class Group:
    relation: Relation
    items: tuple[Condition, ...]


@dataclass(frozen=True)
class Not:
    """Holds when its item does not."""

    item: Condition


Condition = Leaf | Group | Not


def leaves(condition: Condition) -> list[Leaf]:
    if isinstance(condition, Group):
        return [leaf for item in condition.items for leaf in leaves(item)]
    if isinstance(condition, Not):
        return leaves(condition.item)
    return [condition]


def depth(condition: Condition) -> int:
    """Groups and negations on the longest path from the root (a lone leaf: 0)."""
    if isinstance(condition, Group):
        return 1 + max(depth(item) for item in condition.items)
    if isinstance(condition, Not):
        return 1 + depth(condition.item)
    return 0


@dataclass(frozen=True)
class Inputs:
    """What of a member a condition reads, or what a change to a member touched.

    A condition keeps its answer for a member whose change touched none of its inputs: a
    real-time update re-evaluates only the segments a change can move.
    """

    fields: frozenset[str] = frozenset()  # field keys
    tags: bool = False
    campaigns: bool = False
    segments: frozenset[str] = frozenset()  # ids of segments whose membership is read

    def overlaps(self, other: Inputs) -> bool:
        return (
            bool(self.fields & other.fields)
            or (self.tags and other.tags)
            or (self.campaigns and other.campaigns)
            or bool(self.segments & other.segments)
        )

    def __or__(self, other: Inputs) -> Inputs:
        return Inputs(
            self.fields | other.fields,
            self.tags or other.tags,
            self.campaigns or other.campaigns,
            self.segments | other.segments,
        )
