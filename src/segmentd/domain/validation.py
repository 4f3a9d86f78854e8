"""The flat condition form: the JSON EngageLab clients send and read back, which the UI's
builder speaks too. Parse it into a typed, validated tree; render a stored condition in it.

Every rule of the EngageLab segments spec lives here, with the message clients see; each
leaf type checks its own part (``condition_types``). The flat form has one level of items:
nested groups exist only in the stored form (``stored_form``).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import timezone
from enum import IntEnum
from typing import Any

from .condition_types.campaign_leaf import FLAT_NAME as CAMPAIGN_FIELD
from .condition_types.leaf_type import flat_item, quoted
from .condition_types.leaf_types import BY_FLAT_NAME, BY_KIND, FLAT_DEFAULT
from .condition_types.tag_leaf import FLAT_NAME as TAG_FIELD
from .conditions import MAX_CONDITIONS, Condition, Group
from .errors import DomainValidationError
from .fields import Catalog
from .native_form import render_native
from .operators import Op, Relation
from .text import check_text

__all__ = ["CAMPAIGN_FIELD", "MAX_CONDITIONS", "TAG_FIELD", "SegmentType", "parse_condition"]


# The field_name of a flat item standing for what only the native form can say; no field
# can be named so (field names are letters, digits and _).
NATIVE_FIELD_NAME = "$native"
# The field_name of the one flat item of a static segment, whose members are given.
STATIC_FIELD_NAME = "$static"


class SegmentType(IntEnum):
    BY_FIELD = 0
    BY_CAMPAIGN = 1


def parse_condition(
    raw: Any, catalog: Catalog, segment_type: SegmentType, tz: timezone, *, path: str = "condition"
) -> Group:
    """Validate ``raw`` and return its typed tree; DomainValidationError on the first fault."""
    if not isinstance(raw, dict):
        raise DomainValidationError(path, "condition must be an object with relation and items")
    relation = raw.get("relation")
    if relation not in tuple(Relation):
        raise DomainValidationError(f"{path}.relation", "relation only be and or or")
    items = raw.get("items")
    if not isinstance(items, list) or not 1 <= len(items) <= MAX_CONDITIONS:
        raise DomainValidationError(
            f"{path}.items", f"items must hold 1 to {MAX_CONDITIONS} conditions"
        )
    parsed = [
        _parse_item(item, catalog, segment_type, tz, f"{path}.items[{index}]")
        for index, item in enumerate(items)
    ]
    return Group(Relation(relation), tuple(parsed))


def _parse_item(
    raw: Any, catalog: Catalog, segment_type: SegmentType, tz: timezone, path: str
) -> Condition:
    if not isinstance(raw, dict):
        raise DomainValidationError(path, "each condition must be an object")
    field_name, op, value = raw.get("field_name"), raw.get("op"), raw.get("value")
    if not isinstance(field_name, str) or not field_name:
        raise DomainValidationError(f"{path}.field_name", "field_name is required")
    if not isinstance(op, str) or op not in tuple(Op):
        raise DomainValidationError(f"{path}.op", f"op must be one of {quoted(Op)}")
    if not isinstance(value, str):
        raise DomainValidationError(f"{path}.value", "value is required and must be a string")
    check_text(value, f"{path}.value")  # also reached by the UI builder
    if segment_type is SegmentType.BY_CAMPAIGN:
        if field_name != CAMPAIGN_FIELD:
            raise DomainValidationError(
                f"{path}.field_name", "field_name must be campaign when type is 1 (by campaign)"
            )
    elif field_name == CAMPAIGN_FIELD:
        raise DomainValidationError(
            f"{path}.field_name", "field_name campaign needs a segment of type 1 (by campaign)"
        )
    from_flat = BY_FLAT_NAME.get(field_name, FLAT_DEFAULT).from_flat
    assert from_flat is not None, "the flat form picks only types it can say"
    return from_flat(raw, Op(op), value, catalog, tz, path)


def flat_condition(stored: Mapping[str, Any], catalog: Catalog) -> dict[str, Any]:
    """A stored condition in the flat form, fields and tags by their current names.

    Reads names only, never values: a segment reads back whatever became of its catalog."""
    items = stored.get("items")
    return {
        "relation": str(stored.get("relation")),
        "items": [_flat_item(item, catalog) for item in (items if isinstance(items, list) else [])],
    }


def _flat_item(item: Any, catalog: Catalog) -> dict[str, Any]:
    if not isinstance(item, dict):
        return {}
    if "kind" not in item:
        return _unsayable(item, catalog)  # a nested group or a negation: one level only
    kind = BY_KIND.get(str(item.get("kind")))
    flat = None if kind is None or kind.to_flat is None else kind.to_flat(item, catalog)
    return _unsayable(item, catalog) if flat is None else flat


def static_flat_condition() -> dict[str, Any]:
    """What the flat form shows for a static segment: one item saying so."""
    return {"relation": "and", "items": [flat_item(None, STATIC_FIELD_NAME, "==", "")]}


def _unsayable(node: dict[str, Any], catalog: Catalog) -> dict[str, Any]:
    """What the flat form cannot say (a nested group, a negation, a kind or operator of the
    native API only): one item
    whose value is the node in the native form, so a client sees that it is there."""
    text = json.dumps(render_native(node, catalog), separators=(",", ":"), ensure_ascii=False)
    return flat_item(None, NATIVE_FIELD_NAME, "==", text)
