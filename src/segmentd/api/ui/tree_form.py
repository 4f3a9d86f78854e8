"""The builder's condition tree as form inputs, and as the native form's tree.

Every node has an id that is its path of positions from the root: ``r`` is the root group,
``r-1`` its second item, ``r-1-0`` the first item of that. The form posts one hidden
``group`` or ``leaf`` input per node, ``join_<id>`` (all or any) for groups, ``not_<id>``
when the node is negated, and each leaf's inputs as its row names them (``rows``). The
root is always a group and is never negated; a negated group or leaf is ``{"not": ...}`` in
the native form. A node that cannot take part (a leaf under a leaf, an id too deep) is left
out, and ids are renumbered after every read, so the page always shows 0, 1, 2 ...
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from ...domain.conditions import MAX_DEPTH, MAX_ITEMS, MAX_LEAVES
from ...domain.native_form import ALL, ANY, NOT
from .rows.leaf_row import FormValues, LeafInputs, NativeLeaf, Picks
from .rows.leaf_rows import blank_leaf, read_leaf, row_of

ROOT = "r"
_NODE_ID = re.compile(rf"r(?:-[0-9]{{1,2}}){{1,{MAX_DEPTH}}}")
MAX_NODES = 2 * MAX_LEAVES  # nodes read from one form; the rest are ignored


@dataclass
class LeafNode:
    id: str
    leaf: NativeLeaf
    negated: bool = False
    # The kind of row the page shows this node's inputs for, as its form says: another kind
    # while the row's redraw for a new subject still waits in the page's request queue.
    drawn: str | None = None


@dataclass
class GroupNode:
    id: str
    join: str = ALL  # "all" or "any"
    items: list[Node] = field(default_factory=list)
    negated: bool = False


Node = LeafNode | GroupNode


def _positions(node_id: str) -> tuple[int, ...]:
    return tuple(int(part) for part in node_id.split("-")[1:])


def parent_id(node_id: str) -> str:
    return node_id.rpartition("-")[0]


def position_label(node_id: str) -> str:
    """The node's number as people read it: ``r-1-0`` is 2.1."""
    return ".".join(str(p + 1) for p in _positions(node_id))


def is_node_id(text: str) -> bool:
    return text == ROOT or _NODE_ID.fullmatch(text) is not None


def new_tree(picks: Picks) -> GroupNode:
    """A new segment's tree: ``all`` of one blank condition."""
    return renumbered(GroupNode(ROOT, ALL, [LeafNode("", blank_leaf(picks))]))


def _join(raw: Any) -> str:
    return raw if raw in (ALL, ANY) else ALL


# --- the form ----------------------------------------------------------------------------


def tree_from_form(form: FormValues, picks: Picks) -> GroupNode:
    groups = {g for g in form.getlist("group") if isinstance(g, str) and _NODE_ID.fullmatch(g)}
    leaves = {n for n in form.getlist("leaf") if isinstance(n, str) and _NODE_ID.fullmatch(n)}
    root = GroupNode(ROOT, _join(form.get(f"join_{ROOT}")))
    nodes: dict[str, Node] = {ROOT: root}
    for node_id in sorted(groups | leaves, key=_positions)[:MAX_NODES]:
        parent = nodes.get(parent_id(node_id))
        if not isinstance(parent, GroupNode):
            continue
        negated = form.get(f"not_{node_id}") == "1"
        node: Node
        if node_id in groups:
            node = GroupNode(node_id, _join(form.get(f"join_{node_id}")), negated=negated)
        else:
            leaf = read_leaf(LeafInputs(form, node_id), picks)
            drawn = form.get(f"drawn_{node_id}")
            node = LeafNode(node_id, leaf, negated, drawn if isinstance(drawn, str) else None)
        parent.items.append(node)
        nodes[node_id] = node
    return renumbered(root)  # an empty root stays empty: the parser says it holds nothing


def renumbered(root: GroupNode) -> GroupNode:
    """The tree with ids from its positions (after nodes were added, removed or skipped)."""
    _renumber(root, ROOT)
    return root


def _renumber(node: Node, node_id: str) -> None:
    node.id = node_id
    if isinstance(node, GroupNode):
        for index, item in enumerate(node.items):
            _renumber(item, f"{node_id}-{index}")


# --- the native form ---------------------------------------------------------------------


# Every member of the list, in the native form: what a tree with no condition filled in counts.
EVERYONE: list[NativeLeaf] = [
    {"kind": "subscription", "status": "subscribed"},
    {"kind": "subscription", "status": "unsubscribed"},
]


def filled(root: GroupNode) -> GroupNode:
    """The tree less its blank conditions (a new row with nothing typed yet) and the groups
    they leave empty, the nodes keeping their ids: what the live count counts, so a new row
    shows no error and leaves the count as it was. With nothing filled in: every member."""
    kept = _filled(root)
    if isinstance(kept, GroupNode):
        return kept
    return GroupNode(ROOT, ANY, [LeafNode(f"{ROOT}-{i}", leaf) for i, leaf in enumerate(EVERYONE)])


def _filled(node: Node) -> Node | None:
    if isinstance(node, LeafNode):
        return None if row_of(node.leaf).is_empty(node.leaf) else node
    items = [kept for kept in map(_filled, node.items) if kept is not None]
    return GroupNode(node.id, node.join, items, node.negated) if items else None


def native_tree(root: GroupNode) -> dict[str, Any]:
    """The tree as the native API takes it."""
    return _native(root)


def _native(node: Node) -> dict[str, Any]:
    body = (
        node.leaf if isinstance(node, LeafNode) else {node.join: [_native(i) for i in node.items]}
    )
    return {NOT: body} if node.negated else body


def tree_from_native(raw: Any) -> GroupNode:
    """The builder's tree of a native tree (a rendered stored condition). Negations fold
    into their node (``not`` of ``not`` is the node itself); a root that is not a plain group
    becomes ``all`` of it."""
    node = _from_native(raw, ROOT, 0)
    root = (
        node if isinstance(node, GroupNode) and not node.negated else GroupNode(ROOT, ALL, [node])
    )
    return renumbered(root)


def _from_native(raw: Any, node_id: str, depth: int) -> Node:
    negated = False
    while isinstance(raw, dict) and set(raw) == {NOT} and depth <= MAX_DEPTH:
        raw, negated, depth = raw[NOT], not negated, depth + 1
    joins = [key for key in (ALL, ANY) if isinstance(raw, dict) and set(raw) == {key}]
    if joins and isinstance(raw[joins[0]], list) and depth <= MAX_DEPTH:
        items = [
            _from_native(item, f"{node_id}-{index}", depth + 1)
            for index, item in enumerate(raw[joins[0]][:MAX_ITEMS])
        ]
        return GroupNode(node_id, joins[0], items, negated)
    return LeafNode(node_id, dict(raw) if isinstance(raw, dict) else {}, negated)


# --- walking and limits ------------------------------------------------------------------


def walk(node: Node) -> Iterator[Node]:
    yield node
    if isinstance(node, GroupNode):
        for item in node.items:
            yield from walk(item)


def leaf_count(node: Node) -> int:
    return sum(1 for found in walk(node) if isinstance(found, LeafNode))


def find(root: GroupNode, node_id: str) -> Node | None:
    return next((node for node in walk(root) if node.id == node_id), None)


def group_depths(root: GroupNode) -> dict[str, int]:
    """Each group's depth as the native form counts it: the root is 1, and each group or
    ``not`` inside another adds one (``domain.conditions.MAX_DEPTH``)."""
    depths = {ROOT: 1}
    for node in walk(root):
        if isinstance(node, GroupNode):
            for item in node.items:
                if isinstance(item, GroupNode):
                    depths[item.id] = depths[node.id] + 1 + int(item.negated)
    return depths


# --- the buttons -------------------------------------------------------------------------


@dataclass(frozen=True)
class Room:
    """What a group may still take."""

    leaf: bool
    group: bool


def room(root: GroupNode, group: GroupNode, depth: int) -> Room:
    more = len(group.items) < MAX_ITEMS and leaf_count(root) < MAX_LEAVES
    return Room(leaf=more, group=more and depth + 1 <= MAX_DEPTH)


def removable(root: GroupNode, node: Node) -> bool:
    """Any node but the root, unless it holds every leaf of the tree."""
    return node.id != ROOT and leaf_count(node) < leaf_count(root)


def edited(root: GroupNode, action: str, picks: Picks) -> GroupNode:
    """The tree after a button: ``add-leaf:<group>``, ``add-group:<group>``, ``remove:<node>``.
    A button the tree has no room for does nothing."""
    verb, _, node_id = action.partition(":")
    node = find(root, node_id)
    depths = group_depths(root)
    if isinstance(node, GroupNode) and verb in ("add-leaf", "add-group"):
        space = room(root, node, depths[node.id])
        if verb == "add-leaf" and space.leaf:
            node.items.append(LeafNode("", blank_leaf(picks)))
        elif verb == "add-group" and space.group:
            node.items.append(GroupNode("", ALL, [LeafNode("", blank_leaf(picks))]))
    elif verb == "remove" and node is not None and removable(root, node):
        _remove(root, node)
    return renumbered(root)


def _remove(root: GroupNode, node: Node) -> None:
    """Take the node out; a group left empty goes too (the root never is: it keeps a leaf)."""
    parent = find(root, parent_id(node.id))
    assert isinstance(parent, GroupNode)
    parent.items = [item for item in parent.items if item is not node]
    if not parent.items and parent is not root:
        _remove(root, parent)
