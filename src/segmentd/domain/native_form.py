"""The native form of a condition: the tree segmentd's own API and the UI speak, naming
fields, tags, campaigns and segments as users do (``docs/conditions.md``, "Native form").

    {"all": [
        {"kind": "field", "field": "Age", "op": ">=", "value": "18"},
        {"any": [{"kind": "tag", "tag": "vip", "op": "=="}, {"not": {...}}]}]}

A group is an object with one key, ``all`` or ``any``, holding a list of nodes; ``not``
holds one node; any other node is a leaf, whose ``kind`` picks its type
(``condition_types``), which reads and writes the rest. Errors name the offending node by
its path from ``condition``.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date, timezone
from typing import Any

from .condition_types.leaf_type import ConditionContext, quoted
from .condition_types.leaf_types import BY_KIND
from .conditions import MAX_DEPTH, MAX_ITEMS, MAX_LEAVES, Condition, Group, Not, leaves
from .errors import DomainValidationError
from .fields import Catalog
from .operators import Relation
from .segment_graph import SegmentOwner
from .stored_form import today_in

ALL, ANY, NOT = "all", "any", "not"
_RELATIONS = {ALL: Relation.AND, ANY: Relation.OR}
_KEYS = {Relation.AND: ALL, Relation.OR: ANY}


def parse_native(
    raw: Any,
    catalog: Catalog,
    tz: timezone,
    *,
    today: date | None = None,
    path: str = "condition",
    owner: SegmentOwner | None = None,
) -> Group:
    """Validate a native tree and return it typed; the root is always a group (a lone leaf
    or negation becomes ``all`` of one). ``owner``: the segment the tree is being saved for
    (or previewed on: its list), whose references are checked (``segment_graph``)."""
    ctx = ConditionContext(catalog, tz, today_in(tz) if today is None else today, owner)
    node = _parse(raw, ctx, path, 1)
    root = node if isinstance(node, Group) else Group(Relation.AND, (node,))
    if len(leaves(root)) > MAX_LEAVES:
        raise DomainValidationError(path, f"a condition holds at most {MAX_LEAVES} leaves")
    return root


def _parse(raw: Any, ctx: ConditionContext, path: str, depth: int) -> Condition:
    if not isinstance(raw, dict):
        raise DomainValidationError(path, "a condition must be an object")
    if "kind" in raw:
        kind = BY_KIND.get(raw["kind"]) if isinstance(raw["kind"], str) else None
        if kind is None:
            raise DomainValidationError(f"{path}.kind", f"kind must be one of {quoted(BY_KIND)}")
        return kind.from_native(raw, ctx, path)
    keys = [key for key in (ALL, ANY, NOT) if key in raw]
    if len(keys) != 1 or len(raw) != 1:
        raise DomainValidationError(
            path, "a condition is a leaf with a kind, or an object of one key: all, any or not"
        )
    if depth > MAX_DEPTH:
        raise DomainValidationError(path, f"groups and not nest at most {MAX_DEPTH} deep")
    key = keys[0]
    if key == NOT:
        return Not(_parse(raw[NOT], ctx, f"{path}.{NOT}", depth + 1))
    items = raw[key]
    if not isinstance(items, list) or not 1 <= len(items) <= MAX_ITEMS:
        raise DomainValidationError(f"{path}.{key}", f"{key} must hold 1 to {MAX_ITEMS} conditions")
    parsed = [
        _parse(item, ctx, f"{path}.{key}[{index}]", depth + 1) for index, item in enumerate(items)
    ]
    return Group(_RELATIONS[key], tuple(parsed))


def render_native(stored: Mapping[str, Any], catalog: Catalog) -> dict[str, Any]:
    """A stored condition (parsed JSON) in the native form, by current names. Reads names
    only: a segment reads back whatever became of its catalog."""
    return _render(stored, catalog)


def _render(node: Any, catalog: Catalog) -> dict[str, Any]:
    if not isinstance(node, Mapping):
        return {}
    if "kind" in node:
        kind = BY_KIND.get(str(node.get("kind")))
        return kind.to_native(node, catalog) if kind is not None else dict(node)
    if NOT in node:
        return {NOT: _render(node[NOT], catalog)}
    relation = node.get("relation")
    items = node.get("items")
    key = _KEYS[Relation(relation)] if relation in tuple(Relation) else ALL
    return {key: [_render(item, catalog) for item in (items if isinstance(items, list) else [])]}
