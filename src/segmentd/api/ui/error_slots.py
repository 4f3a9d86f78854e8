"""Errors beside the inputs they are about: an API error's path names a node of the tree and
one of its parts (``condition.all[1].not.any[0].value``), which the page shows in the slot
of that input, or under the node when its row has no input for that part.
"""

from __future__ import annotations

import re

from ...domain.errors import DomainValidationError
from .rows.leaf_rows import row_of
from .tree_form import GroupNode, LeafNode, Node, walk

FIXED_SLOTS = ("err-segment_name", "err-list_id", "err-conditions")
_STEP = re.compile(r"\.(?:(all|any)\[([0-9]+)\]|not(?![A-Za-z_])|([A-Za-z_]+)(?:\[[0-9]+\])?)")
CONDITION = "condition"


def error_parts(exc: DomainValidationError) -> tuple[str, str]:
    """(path, message) of an API error: the message is word for word what the API answers."""
    return exc.path, exc.message


def node_slot(node_id: str, part: str = "") -> str:
    return f"err-{node_id}-{part}" if part else f"err-{node_id}"


def error_slot(path: str, root: GroupNode) -> str:
    """The id of the slot where the error at ``path`` shows."""
    if path in ("segment_name", "list_id"):
        return f"err-{path}"
    if path != CONDITION and not path.startswith(CONDITION + "."):
        return "err-conditions"
    node: Node = root
    for step in _STEP.finditer(path, len(CONDITION)):
        join, index, part = step.groups()
        if join is not None:
            if not isinstance(node, GroupNode) or int(index) >= len(node.items):
                break
            node = node.items[int(index)]
        elif part is not None:
            return _leaf_slot(node, part) if isinstance(node, LeafNode) else node_slot(node.id)
    return node_slot(node.id)


def _leaf_slot(node: LeafNode, part: str) -> str:
    return node_slot(node.id, part) if part in _parts_shown(node) else node_slot(node.id)


def _parts_shown(node: LeafNode) -> tuple[str, ...]:
    """The parts the page shows an input for: none while it still shows the inputs of another
    kind of row (their slots are not those of this leaf)."""
    row = row_of(node.leaf)
    return row.parts if node.drawn in (None, row.kind) else ()


def all_slots(root: GroupNode) -> list[str]:
    """Every error slot the builder shows, so a response can clear those that no longer apply."""
    slots = list(FIXED_SLOTS)
    for node in walk(root):
        slots.append(node_slot(node.id))
        if isinstance(node, LeafNode):
            slots += [node_slot(node.id, part) for part in _parts_shown(node)]
    return slots
