"""Turn a condition as clients send it (EngageLab JSON) into a typed, validated tree.

Every rule of the EngageLab segments spec lives here, with the message clients see.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import timezone
from enum import IntEnum
from typing import Any

from .conditions import CampaignCondition, Condition, FieldCondition, Group, TagCondition, leaves
from .errors import DomainValidationError
from .fields import SEGMENTABLE_CAMPAIGN_STATUSES, Catalog
from .operators import (
    CAMPAIGN_OPERATORS,
    OPERATORS,
    TAG_OPERATORS,
    Activity,
    Op,
    Relation,
    parse_operand,
)
from .text import check_text

MAX_CONDITIONS = 10
MAX_DEPTH = 4  # nested groups (native API only); bounds recursion on hostile input
TAG_FIELD = "tag"
CAMPAIGN_FIELD = "campaign"


class SegmentType(IntEnum):
    BY_FIELD = 0
    BY_CAMPAIGN = 1


def _quoted(values: Any) -> str:
    return ", ".join(str(v) for v in values)


@dataclass(frozen=True)
class _Rules:
    catalog: Catalog
    segment_type: SegmentType
    tz: timezone
    nesting: bool
    live_campaigns_only: bool


def parse_condition(
    raw: Any,
    catalog: Catalog,
    segment_type: SegmentType,
    tz: timezone,
    *,
    allow_nesting: bool = False,
    path: str = "condition",
) -> Condition:
    """Validate ``raw`` and return its typed tree; DomainValidationError on the first fault."""
    rules = _Rules(catalog, segment_type, tz, allow_nesting, live_campaigns_only=True)
    return _parse_root(raw, rules, path)


def parse_stored_condition(
    text: str, catalog: Catalog, segment_type: SegmentType, tz: timezone
) -> Condition:
    """Re-parse a condition saved after validation, for a build or a real-time update.

    Fields and tags must still exist, but a campaign cancelled since the segment was saved
    still selects its recipients: its activity does not change.
    """
    try:
        raw = json.loads(text)
    except ValueError:
        raise DomainValidationError("condition", "the stored condition is not JSON") from None
    rules = _Rules(catalog, segment_type, tz, nesting=True, live_campaigns_only=False)
    return _parse_root(raw, rules, "condition")


def _parse_root(raw: Any, rules: _Rules, path: str) -> Condition:
    condition = _parse_group(raw, rules, path, 1)
    if len(leaves(condition)) > MAX_CONDITIONS:
        raise DomainValidationError(
            f"{path}.items", f"at most {MAX_CONDITIONS} conditions are supported"
        )
    return condition


def _parse_group(raw: Any, rules: _Rules, path: str, depth: int) -> Group:
    if depth > MAX_DEPTH:
        raise DomainValidationError(path, f"groups nest at most {MAX_DEPTH} deep")
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
    parsed: list[Condition] = []
    for index, item in enumerate(items):
        item_path = f"{path}.items[{index}]"
        if rules.nesting and isinstance(item, dict) and "items" in item:
            parsed.append(_parse_group(item, rules, item_path, depth + 1))
        else:
            parsed.append(_parse_item(item, rules, item_path))
    return Group(Relation(relation), tuple(parsed))


def _parse_item(raw: Any, rules: _Rules, path: str) -> Condition:
    if not isinstance(raw, dict):
        raise DomainValidationError(path, "each condition must be an object")
    field_name, op, value = raw.get("field_name"), raw.get("op"), raw.get("value")
    if not isinstance(field_name, str) or not field_name:
        raise DomainValidationError(f"{path}.field_name", "field_name is required")
    if not isinstance(op, str) or op not in tuple(Op):
        raise DomainValidationError(f"{path}.op", f"op must be one of {_quoted(Op)}")
    if not isinstance(value, str):
        raise DomainValidationError(f"{path}.value", "value is required and must be a string")
    check_text(value, f"{path}.value")  # also reached by the UI builder and stored conditions
    if rules.segment_type is SegmentType.BY_CAMPAIGN:
        return _parse_campaign(raw, rules, Op(op), value, path)
    if field_name == CAMPAIGN_FIELD:
        raise DomainValidationError(
            f"{path}.field_name", "field_name campaign needs a segment of type 1 (by campaign)"
        )
    if field_name == TAG_FIELD:
        return _parse_tag(rules.catalog, Op(op), value, path)
    return _parse_field(rules.catalog, field_name, Op(op), value, rules.tz, path)


def _parse_campaign(raw: dict[str, Any], rules: _Rules, op: Op, value: str, path: str) -> Condition:
    if raw.get("field_name") != CAMPAIGN_FIELD:
        raise DomainValidationError(
            f"{path}.field_name", "field_name must be campaign when type is 1 (by campaign)"
        )
    if op not in CAMPAIGN_OPERATORS:
        raise DomainValidationError(f"{path}.op", "op must be == when field_name is campaign")
    if value not in tuple(Activity):
        raise DomainValidationError(f"{path}.value", f"value must be one of {_quoted(Activity)}")
    campaign_id = raw.get("campaign_id")
    if isinstance(campaign_id, bool) or not isinstance(campaign_id, int):
        raise DomainValidationError(
            f"{path}.campaign_id", "campaign_id is required when field_name is campaign"
        )
    status = rules.catalog.campaigns.get(campaign_id)
    if status is None:
        raise DomainValidationError(f"{path}.campaign_id", f"campaign {campaign_id} does not exist")
    if rules.live_campaigns_only and status not in SEGMENTABLE_CAMPAIGN_STATUSES:
        raise DomainValidationError(
            f"{path}.campaign_id",
            f"campaign {campaign_id} is {status}: it must be sending or completed",
        )
    return CampaignCondition(campaign_id, Activity(value))


def _parse_tag(catalog: Catalog, op: Op, value: str, path: str) -> Condition:
    if op not in TAG_OPERATORS:
        raise DomainValidationError(
            f"{path}.op", f"op for tag must be one of {_quoted(TAG_OPERATORS)}"
        )
    if value not in catalog.tags:
        raise DomainValidationError(f"{path}.value", f"tag {value} does not exist")
    return TagCondition(value, op)


def _parse_field(
    catalog: Catalog, name: str, op: Op, value: str, tz: timezone, path: str
) -> Condition:
    field = catalog.field(name)
    if field is None:
        raise DomainValidationError(f"{path}.field_name", f"field {name} does not exist")
    allowed = OPERATORS[field.type]
    if op not in allowed:
        raise DomainValidationError(
            f"{path}.op", f"op for field {field.name} must be one of {_quoted(allowed)}"
        )
    try:
        operand = parse_operand(field, value, tz)
    except ValueError as exc:
        raise DomainValidationError(f"{path}.value", f"field {field.name}: {exc}") from None
    return FieldCondition(field, op, value, operand)
