"""The stored form of a condition: versioned JSON naming fields, tags and campaigns by keys
and ids that renames keep (``docs/conditions.md``, "Stored form").

    {"version": 1, "relation": "and", "items": [
        {"kind": "field", "field": "custom:12", "op": ">=", "value": "13"},
        {"kind": "tag", "tag": 3, "op": "=="},
        {"relation": "or", "items": [...]},
        {"not": {"kind": "tag", "tag": 4, "op": "=="}}]}

Each leaf's kind picks its type (``condition_types``), which loads and dumps the leaf.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping
from datetime import date, datetime, timezone
from typing import Any

from .condition_types.leaf_type import ConditionContext
from .condition_types.leaf_types import BY_KIND, type_of
from .conditions import MAX_DEPTH, MAX_ITEMS, MAX_LEAVES, Condition, Group, Not, leaves
from .errors import DomainValidationError
from .fields import Catalog
from .operators import Relation
from .segment_graph import SegmentOwner

VERSION = 1


def dump_condition(condition: Group) -> dict[str, Any]:
    """The stored form of a validated tree (a dict, ready for ``json.dumps``)."""
    return {"version": VERSION, **_dump_group(condition)}


def _dump_group(group: Group) -> dict[str, Any]:
    return {"relation": str(group.relation), "items": [_dump(item) for item in group.items]}


def _dump(condition: Condition) -> dict[str, Any]:
    if isinstance(condition, Group):
        return _dump_group(condition)
    if isinstance(condition, Not):
        return {"not": _dump(condition.item)}
    return type_of(condition).dump(condition)


def today_in(tz: timezone) -> date:
    """The day it is now in ``tz``: what relative dates count from unless told."""
    return datetime.now(tz).date()


def load_condition(
    stored: str | Mapping[str, Any],
    catalog: Catalog,
    tz: timezone,
    *,
    today: date | None = None,
    owner: SegmentOwner | None = None,
) -> Group:
    """The tree of a stored condition, for a build, a real-time update or a look-up, with
    relative dates counted from ``today`` (default: the day it is now in ``tz``).

    Fields, tags, campaigns and segments must still exist; DomainValidationError when one
    does not. ``owner``: the segment the condition is being saved for (its references are
    checked, ``segment_graph``).
    """
    raw: Any = stored
    if isinstance(stored, str):
        try:
            raw = json.loads(stored)
        except ValueError:
            raise DomainValidationError("condition", "the stored condition is not JSON") from None
    if not isinstance(raw, dict) or raw.get("version") != VERSION:
        raise DomainValidationError("condition", f"the stored condition is not version {VERSION}")
    ctx = ConditionContext(catalog, tz, today_in(tz) if today is None else today, owner)
    condition = _load_group(raw, ctx, "condition", 1)
    if len(leaves(condition)) > MAX_LEAVES:
        raise DomainValidationError("condition", f"at most {MAX_LEAVES} conditions are supported")
    return condition


def _load_group(raw: Any, ctx: ConditionContext, path: str, depth: int) -> Group:
    if depth > MAX_DEPTH:
        raise DomainValidationError(path, f"groups nest at most {MAX_DEPTH} deep")
    if not isinstance(raw, dict):
        raise DomainValidationError(path, "a group must be an object with relation and items")
    relation = raw.get("relation")
    if relation not in tuple(Relation):
        raise DomainValidationError(f"{path}.relation", "relation only be and or or")
    items = raw.get("items")
    if not isinstance(items, list) or not 1 <= len(items) <= MAX_ITEMS:
        raise DomainValidationError(f"{path}.items", f"items must hold 1 to {MAX_ITEMS} conditions")
    parsed = [
        _load_item(item, ctx, f"{path}.items[{index}]", depth) for index, item in enumerate(items)
    ]
    return Group(Relation(relation), tuple(parsed))


def _load_item(item: Any, ctx: ConditionContext, path: str, depth: int) -> Condition:
    if isinstance(item, dict) and "not" in item and "kind" not in item:
        if depth + 1 > MAX_DEPTH:
            raise DomainValidationError(path, f"groups nest at most {MAX_DEPTH} deep")
        return Not(_load_item(item["not"], ctx, f"{path}.not", depth + 1))
    if isinstance(item, dict) and "kind" not in item:
        return _load_group(item, ctx, path, depth + 1)
    kind = BY_KIND.get(str(item.get("kind"))) if isinstance(item, dict) else None
    if kind is None:
        raise DomainValidationError(f"{path}.kind", "kind must name a condition type")
    return kind.load(item, ctx, path)


def stored_leaves(stored: str | Mapping[str, Any]) -> Iterator[Mapping[str, Any]]:
    """Every leaf of a stored condition as stored, for queries such as "who uses tag 3";
    what is not a well-formed leaf is passed over."""
    raw: Any = stored
    if isinstance(stored, str):
        try:
            raw = json.loads(stored)
        except ValueError:
            return
    yield from _raw_leaves(raw, 0)


def _raw_leaves(node: Any, depth: int) -> Iterator[Mapping[str, Any]]:
    if not isinstance(node, dict) or depth > MAX_DEPTH:
        return
    if "kind" in node:
        yield node
        return
    if "not" in node:
        yield from _raw_leaves(node["not"], depth + 1)
        return
    items = node.get("items")
    for item in items if isinstance(items, list) else ():
        yield from _raw_leaves(item, depth + 1)
