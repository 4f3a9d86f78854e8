"""A condition tree in plain words: one sentence per leaf, each group introduced by what it
asks of its items, negations said where they apply ("none of these", "not: ..."), as
``domain.plain_words`` says a saved tree; here each row says its leaf in the UI's words."""

from __future__ import annotations

from dataclasses import dataclass

from ...domain.plain_words import GROUP_WORDS
from .rows.leaf_row import Picks, Translate
from .rows.leaf_rows import row_of
from .tree_form import GroupNode, LeafNode, Node


@dataclass(frozen=True)
class Words:
    text: str
    items: tuple[Words, ...] = ()
    negated: bool = False


def tree_words(root: GroupNode, picks: Picks, _: Translate) -> Words:
    return _words(root, picks, _)


def _words(node: Node, picks: Picks, _: Translate) -> Words:
    if isinstance(node, LeafNode):
        sentence = row_of(node.leaf).describe(node.leaf, picks, _)
        if node.negated:
            return Words(_("Not: {sentence}", sentence=sentence), negated=True)
        return Words(sentence)
    items = tuple(_words(item, picks, _) for item in node.items)
    return Words(_(GROUP_WORDS[(node.join, node.negated)]), items, node.negated)
