"""A condition tree in plain words: one sentence per leaf (its type's ``describe``), each
group introduced by what it asks of its items, negations said where they apply. The UI says
its draft trees the same way (``api.ui.tree_words``), translated."""

from __future__ import annotations

from .condition_types.leaf_types import type_of
from .conditions import Condition, Group, Leaf, Not
from .operators import Relation

ALL, ANY = "all", "any"
# (join, negated) -> how a group introduces its items
GROUP_WORDS = {
    (ALL, False): "All of these hold:",
    (ANY, False): "At least one of these holds:",
    (ALL, True): "Not all of these hold:",
    (ANY, True): "None of these holds:",
}
_JOINS = {Relation.AND: ALL, Relation.OR: ANY}


def plain_words(condition: Condition) -> str:
    """The tree as one text, items of a group in parentheses separated by semicolons:
    ``All of these hold: (City == 'Paris'; Not: has tag vip)``."""
    return _said(condition, negated=False)


def _said(node: Condition, *, negated: bool) -> str:
    if isinstance(node, Not):
        return _said(node.item, negated=not negated)
    if isinstance(node, Group):
        items = "; ".join(_said(item, negated=False) for item in node.items)
        return f"{GROUP_WORDS[(_JOINS[node.relation], negated)]} ({items})"
    assert isinstance(node, Leaf)
    sentence = type_of(node).describe(node)
    return f"Not: {sentence}" if negated else sentence
