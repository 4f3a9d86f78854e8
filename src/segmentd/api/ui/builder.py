"""The segment builder's state and what its templates show of it.

The builder speaks the native form (``domain.native_form``): its tree of groups (all / any),
negations and leaves is read from the form (``tree_form``), saved and counted as the native
API would take it, and shown back node by node, each leaf by the row of its kind (``rows``).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from ...domain.native_form import render_native
from ...storage.segments import Segment
from .rows.leaf_row import FormValues, LeafRow, NativeLeaf, Picks
from .rows.leaf_rows import row_of
from .tree_form import (
    ROOT,
    GroupNode,
    LeafNode,
    Room,
    filled,
    group_depths,
    native_tree,
    position_label,
    removable,
    room,
    tree_from_form,
    tree_from_native,
)


@dataclass
class Draft:
    """What the builder's form holds, and the errors by slot id."""

    tree: GroupNode
    name: str = ""
    list_id: str = ""
    segment_id: str | None = None
    errors: dict[str, str] = field(default_factory=dict)

    def condition(self) -> dict[str, Any]:
        return native_tree(self.tree)

    def counted_tree(self) -> GroupNode:
        """What the live count counts: the tree less the conditions not filled in yet."""
        return filled(self.tree)

    def counted_condition(self) -> dict[str, Any]:
        return native_tree(self.counted_tree())


def draft_from_form(form: FormValues, picks: Picks, segment_id: str | None = None) -> Draft:
    return Draft(
        tree=tree_from_form(form, picks),
        name=str(form.get("segment_name") or ""),
        list_id=str(form.get("list_id") or ""),
        segment_id=segment_id,
    )


def draft_from_segment(segment: Segment, picks: Picks) -> Draft:
    return Draft(
        tree=saved_tree(segment, picks),
        name=segment.name,
        list_id=str(segment.list_id),
        segment_id=segment.id,
    )


def saved_tree(segment: Segment, picks: Picks) -> GroupNode:
    return tree_from_native(render_native(segment.condition, picks.catalog))


# --- what the templates show ---------------------------------------------------------------


@dataclass(frozen=True)
class LeafView:
    id: str
    label: str  # "2.1"
    negated: bool
    removable: bool
    row: LeafRow
    leaf: NativeLeaf  # as the row shows it (``LeafRow.fit``)
    view: Any  # the row's own (``LeafRow.view``)
    subject: str
    slots: tuple[str, ...]
    is_group: bool = False


@dataclass(frozen=True)
class GroupView:
    id: str
    label: str
    join: str
    negated: bool
    removable: bool
    room: Room
    items: tuple[LeafView | GroupView, ...]
    is_group: bool = True

    @property
    def is_root(self) -> bool:
        return self.id == ROOT


def leaf_view(node: LeafNode, picks: Picks, can_remove: bool = False) -> LeafView:
    row = row_of(node.leaf)
    leaf = row.fit(node.leaf, picks)
    return LeafView(
        id=node.id,
        label=position_label(node.id),
        negated=node.negated,
        removable=can_remove,
        row=row,
        leaf=leaf,
        view=row.view(leaf, picks),
        subject=row.subject(leaf),
        slots=row.parts,
    )


def tree_view(root: GroupNode, picks: Picks) -> GroupView:
    return _group_view(root, root, picks, group_depths(root))


def _group_view(
    root: GroupNode, group: GroupNode, picks: Picks, depths: dict[str, int]
) -> GroupView:
    items = tuple(
        _group_view(root, item, picks, depths)
        if isinstance(item, GroupNode)
        else leaf_view(item, picks, removable(root, item))
        for item in group.items
    )
    return GroupView(
        id=group.id,
        label=position_label(group.id),
        join=group.join,
        negated=group.negated,
        removable=removable(root, group),
        room=room(root, group, depths[group.id]),
        items=items,
    )
