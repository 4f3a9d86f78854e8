"""The stored form of a condition: versioned JSON naming fields, tags and campaigns by keys
and ids that renames keep (``docs/conditions.md``, "Stored form").

    {"version": 1, "relation": "and", "items": [
        {"kind": "field", "field": "custom:12", "op": ">=", "value": "13"},
        {"kind": "tag", "tag": 3, "op": "=="},
        {"relation": "or", "items": [...]}]}

Each leaf's kind picks its type (``condition_types``), which loads and dumps the leaf.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping
from datetime import timezone
from typing import Any

from .condition_types.leaf_types import BY_KIND, type_of
from .conditions import MAX_CONDITIONS, MAX_DEPTH, Condition, Group, leaves
from .errors import DomainValidationError
from .fields import Catalog
from .operators import Relation

VERSION = 1


def dump_condition(condition: Group) -> dict[str, Any]:
    """The stored form of a validated tree (a dict, ready for ``json.dumps``)."""
    return {"version": VERSION, **_dump_group(condition)}


def _dump_group(group: Group) -> dict[str, Any]:
    return {"relation": str(group.relation), "items": [_dump(item) for item in group.items]}


def _dump(condition: Condition) -> dict[str, Any]:
    if isinstance(condition, Group):
        return _dump_group(condition)
    return type_of(condition).dump(condition)


def load_condition(stored: str | Mapping[str, Any], catalog: Catalog, tz: timezone) -> Group:
    """The tree of a stored condition, for a build, a real-time update or a look-up.

    Fields, tags and campaigns must still exist; DomainValidationError when one does not.
    """
    raw: Any = stored
    if isinstance(stored, str):
        try:
            raw = json.loads(stored)
        except ValueError:
            raise DomainValidationError("condition", "the stored condition is not JSON") from None
    if not isinstance(raw, dict) or raw.get("version") != VERSION:
        raise DomainValidationError("condition", f"the stored condition is not version {VERSION}")
    condition = _load_group(raw, catalog, tz, "condition", 1)
    if len(leaves(condition)) > MAX_CONDITIONS:
        raise DomainValidationError(
            "condition.items", f"at most {MAX_CONDITIONS} conditions are supported"
        )
    return condition


def _load_group(raw: Any, catalog: Catalog, tz: timezone, path: str, depth: int) -> Group:
    if depth > MAX_DEPTH:
        raise DomainValidationError(path, f"groups nest at most {MAX_DEPTH} deep")
    if not isinstance(raw, dict):
        raise DomainValidationError(path, "a group must be an object with relation and items")
    relation = raw.get("relation")
    if relation not in tuple(Relation):
        raise DomainValidationError(f"{path}.relation", "relation only be and or or")
    items = raw.get("items")
    if not isinstance(items, list) or not 1 <= len(items) <= MAX_CONDITIONS:
        raise DomainValidationError(
            f"{path}.items", f"items must hold 1 to {MAX_CONDITIONS} conditions"
        )
    parsed: list[Condition] = []
    for index, item in enumerate(items):
        item_path = f"{path}.items[{index}]"
        if isinstance(item, dict) and "kind" not in item:
            parsed.append(_load_group(item, catalog, tz, item_path, depth + 1))
            continue
        kind = BY_KIND.get(str(item.get("kind"))) if isinstance(item, dict) else None
        if kind is None:
            raise DomainValidationError(f"{item_path}.kind", "kind must name a condition type")
        parsed.append(kind.load(item, catalog, tz, item_path))
    return Group(Relation(relation), tuple(parsed))


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
    items = node.get("items")
    for item in items if isinstance(items, list) else ():
        yield from _raw_leaves(item, depth + 1)
