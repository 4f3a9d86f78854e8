"""Request and response parts of segments that the ``/v1/`` APIs share (EngageLab's segments,
the native preview) and the UI reads (build progress): the condition's documented shape, the
loose request fields the endpoints check themselves, and the build progress.
"""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import BaseModel, Field, WithJsonSchema

from ...domain.ids import MAX_ID
from ...domain.operators import Activity, Op, Relation
from ...domain.statuses import SegmentStatus
from ...domain.validation import MAX_CONDITIONS
from ...services.segment_rules import MAX_NAME_LENGTH
from ...storage.segments import Segment
from .schema_parts import ID, ID_DIGITS, TEXT_PATTERN, TEXT_RULE, not_blank_pattern, nullable

STATUS_DESCRIPTIONS: dict[int, str] = {
    SegmentStatus.FAILED: "segmentation failed",
    SegmentStatus.COMPLETE: "segmentation complete",
}
BUILDING_DESCRIPTION = "segmentation in progress, please do not use this segment to send emails"


class ConditionItem(BaseModel):
    """One filter. Type 1 (by campaign): field_name campaign, op ==, campaign_id required."""

    campaign_id: int | None = Field(
        None, ge=1, le=MAX_ID, description="Campaign id (sending or completed)"
    )
    field_name: str = Field(min_length=1, description='A field name, "tag", or "campaign" (type 1)')
    op: str = Field(description="Operator", json_schema_extra={"enum": [str(op) for op in Op]})
    value: str = Field(
        description="The value in the field's format, a tag name, or one of "
        + ", ".join(str(a) for a in Activity)
        + ". "
        + TEXT_RULE,
        json_schema_extra={"pattern": TEXT_PATTERN},
    )


class Condition(BaseModel):
    relation: str = Field(json_schema_extra={"enum": [str(r) for r in Relation]})
    items: list[ConditionItem] = Field(min_length=1, max_length=MAX_CONDITIONS)


CONDITION_SCHEMA = {
    "type": "object",
    "required": ["relation", "items"],
    "properties": {
        "relation": {"type": "string", "enum": [str(r) for r in Relation]},
        "items": {
            "type": "array",
            "minItems": 1,
            "maxItems": MAX_CONDITIONS,
            "items": ConditionItem.model_json_schema(),
        },
    },
}
LooseCondition = Annotated[Any, WithJsonSchema(CONDITION_SCHEMA)]
# 1 to 48 characters, not blank, none of ^ ? + . * \\ [ ] ( ) and no control character.
_NAME = {
    "type": "string",
    "minLength": 1,
    "maxLength": MAX_NAME_LENGTH,
    "pattern": not_blank_pattern(r"\^?+.*\\\[\]()\u0000-\u001f\u007f-\u009f"),
}
LooseName = Annotated[Any, WithJsonSchema(_NAME)]
LooseNewName = Annotated[Any, WithJsonSchema(nullable(_NAME))]
LooseType = Annotated[Any, WithJsonSchema({"type": "integer", "enum": [0, 1]})]
LooseListId = Annotated[
    Any, WithJsonSchema(nullable({"anyOf": [ID, ID_DIGITS, {"type": "string", "enum": [""]}]}))
]


# Request examples, shown in /docs and sent as they are by the schemathesis tests.
NAME_CONDITION = {
    "relation": "and",
    "items": [{"field_name": "Name", "op": "contain", "value": "Lei Li"}],
}


def body_example(value: dict[str, Any]) -> dict[str, Any]:
    """``openapi_examples`` of an optional body (examples inside its ``anyOf`` are not shown)."""
    return {"example": {"summary": "Example", "value": value}}


class Process(BaseModel):
    statusDesc: str  # EngageLab's spelling
    complete: bool
    percent: int

    @classmethod
    def of(cls, segment: Segment) -> Process:
        complete = segment.status == SegmentStatus.COMPLETE
        return cls(
            statusDesc=STATUS_DESCRIPTIONS.get(segment.status, BUILDING_DESCRIPTION),
            complete=complete,
            percent=100 if complete else segment.percent,
        )
