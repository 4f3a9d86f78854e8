"""The JSON Schema of a condition in the native form (``domain.native_form``), stated once in
``/openapi.json`` as components: a node is a group (``all``/``any``), a negation or a leaf,
and groups and negations refer back to the node schema (``$ref``), never unrolled. JSON Schema
cannot count depth or leaves: ``x-max-depth`` and ``x-max-leaves`` state those limits.
"""

from __future__ import annotations

from typing import Any

from ...domain.campaign_events import CampaignEvent
from ...domain.condition_types.engagement_leaf import COUNTED, MAX_COUNT, CountOp
from ...domain.condition_types.last_activity_leaf import RecencyOp
from ...domain.condition_types.native_field_ops import MAX_ANNIVERSARY_DAYS, MAX_VALUES
from ...domain.condition_types.segment_leaf import SegmentOp
from ...domain.condition_types.subscription_leaf import Status
from ...domain.condition_types.tag_leaf import TAG_OPERATORS
from ...domain.condition_types.tag_set_leaf import MAX_TAGS, SetOp
from ...domain.conditions import MAX_DEPTH, MAX_ITEMS, MAX_LEAVES
from ...domain.operators import Activity, NativeOp, Op
from ...domain.relative_days import MAX_AMOUNT
from ..common.schema_parts import ID, TEXT_PATTERN, TEXT_RULE

NODE = "NativeCondition"
LEAF = "NativeLeaf"
NODE_REF = {"$ref": f"#/components/schemas/{NODE}"}
LEAF_REF = {"$ref": f"#/components/schemas/{LEAF}"}
_TEXT = {"type": "string", "pattern": TEXT_PATTERN}
_ABSENT = False  # a key this leaf must not hold


def _enum(values: Any) -> dict[str, Any]:
    return {"type": "string", "enum": [str(value) for value in values]}


def _leaf(kind: str, required: list[str], properties: dict[str, Any]) -> dict[str, Any]:
    return {
        "type": "object",
        "required": ["kind", *required],
        "properties": {"kind": {"type": "string", "enum": [kind]}, **properties},
    }


def _periods(ops: list[str], units: dict[str, tuple[int, int]]) -> list[dict[str, Any]]:
    """One schema per unit: the bounds of ``amount`` depend on it."""
    return [
        _leaf(
            "field",
            ["field", "op", "amount", "unit"],
            {
                "field": _TEXT,
                "op": _enum(ops),
                "unit": {"type": "string", "enum": [unit]},
                "amount": {"type": "integer", "minimum": low, "maximum": high},
            },
        )
        for unit, (low, high) in units.items()
    ]


def _field_leaves() -> list[dict[str, Any]]:
    field = {"field": _TEXT}
    flat = _leaf("field", ["field", "op", "value"], {**field, "op": _enum(Op), "value": _TEXT})
    affix = _leaf(
        "field",
        ["field", "op", "value"],
        {**field, "op": _enum([NativeOp.STARTS_WITH, NativeOp.ENDS_WITH]), "value": _TEXT},
    )
    bare_ops = [
        NativeOp.IS_SET,
        NativeOp.IS_NOT_SET,
        NativeOp.IS_TODAY,
        NativeOp.ANNIVERSARY_TODAY,
        NativeOp.ANNIVERSARY_THIS_MONTH,
    ]
    bare = _leaf("field", ["field", "op"], {**field, "op": _enum(bare_ops)})
    listed = _leaf(
        "field",
        ["field", "op", "values"],
        {
            **field,
            "op": _enum([NativeOp.IN, NativeOp.NOT_IN]),
            "values": {"type": "array", "minItems": 1, "maxItems": MAX_VALUES, "items": _TEXT},
        },
    )
    between = _leaf(
        "field",
        ["field", "op", "values"],
        {
            **field,
            "op": _enum([NativeOp.BETWEEN]),
            "values": {"type": "array", "minItems": 2, "maxItems": 2, "items": _TEXT},
        },
    )
    relative = [str(NativeOp.IN_LAST), str(NativeOp.MORE_THAN_AGO), str(NativeOp.IN_NEXT)]
    units = {str(unit): (1, most) for unit, most in MAX_AMOUNT.items()}
    anniversary = _periods([str(NativeOp.ANNIVERSARY_IN_NEXT)], {"days": (0, MAX_ANNIVERSARY_DAYS)})
    return [flat, affix, bare, listed, between, *_periods(relative, units), *anniversary]


def _window() -> dict[str, Any]:
    return {
        "anyOf": [
            {
                "type": "object",
                "required": ["amount", "unit"],
                "properties": {
                    "unit": {"type": "string", "enum": [unit]},
                    "amount": {"type": "integer", "minimum": 1, "maximum": most},
                },
            }
            for unit, most in ((str(u), m) for u, m in MAX_AMOUNT.items())
        ]
    }


def _other_leaves() -> list[dict[str, Any]]:
    recent = [str(RecencyOp.IN_LAST), str(RecencyOp.MORE_THAN_AGO)]
    recency = [
        _leaf(
            "last_activity",
            ["activity", "op", "amount", "unit"],
            {
                "activity": _enum(CampaignEvent),
                "op": _enum(recent),
                "unit": {"type": "string", "enum": [str(unit)]},
                "amount": {"type": "integer", "minimum": 1, "maximum": most},
            },
        )
        for unit, most in MAX_AMOUNT.items()
    ]
    never = _leaf(
        "last_activity",
        ["activity", "op"],
        {
            "activity": _enum(CampaignEvent),
            "op": _enum([RecencyOp.NEVER]),
            "amount": _ABSENT,
            "unit": _ABSENT,
        },
    )
    return [
        _leaf("tag", ["tag", "op"], {"tag": _TEXT, "op": _enum(TAG_OPERATORS)}),
        _leaf(
            "tags",
            ["op", "tags"],
            {
                "op": _enum(SetOp),
                "tags": {"type": "array", "minItems": 1, "maxItems": MAX_TAGS, "items": _TEXT},
            },
        ),
        _leaf("campaign", ["campaign", "activity"], {"campaign": ID, "activity": _enum(Activity)}),
        _leaf("subscription", ["status"], {"status": _enum(Status)}),
        _leaf("segment", ["segment", "op"], {"segment": _TEXT, "op": _enum(SegmentOp)}),
        _leaf(
            "engagement",
            ["activity", "count_op", "count"],
            {
                "activity": _enum(COUNTED),
                "count_op": _enum(CountOp),
                "count": {"type": "integer", "minimum": 0, "maximum": MAX_COUNT},
                "within": {"anyOf": [_window(), {"type": "null"}]},
            },
        ),
        *recency,
        never,
    ]


def _group(key: str) -> dict[str, Any]:
    return {
        "type": "object",
        "required": [key],
        "properties": {
            key: {"type": "array", "minItems": 1, "maxItems": MAX_ITEMS, "items": NODE_REF}
        },
        "additionalProperties": False,
    }


NODE_SCHEMA: dict[str, Any] = {
    "description": (
        "A condition node: a group {all: [...]} or {any: [...]} of 1 to "
        f"{MAX_ITEMS} nodes, a negation {{not: node}}, or a leaf picked by its kind "
        "(docs/conditions.md, Native form). At most "
        f"{MAX_DEPTH} groups and negations deep (the root counting as 1) and {MAX_LEAVES} "
        f"leaves in a tree. {TEXT_RULE}"
    ),
    "x-max-depth": MAX_DEPTH,
    "x-max-leaves": MAX_LEAVES,
    "anyOf": [
        _group("all"),
        _group("any"),
        {
            "type": "object",
            "required": ["not"],
            "properties": {"not": NODE_REF},
            "additionalProperties": False,
        },
        LEAF_REF,
    ],
}
LEAF_SCHEMA: dict[str, Any] = {
    "description": "A leaf: its kind says which other keys it takes; other keys are ignored",
    "anyOf": [*_field_leaves(), *_other_leaves()],
}
COMPONENTS = {NODE: NODE_SCHEMA, LEAF: LEAF_SCHEMA}
