"""Request and response models of the EngageLab segments API, for OpenAPI and serialization.

Request fields are typed ``Any`` on purpose: the endpoints and the domain check them, so clients
get EngageLab's ``[path]:reason`` messages (code 30035) instead of pydantic's. ``WithJsonSchema``
still documents the real shapes in ``/openapi.json``.
"""

from __future__ import annotations

from datetime import timezone
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, WithJsonSchema

from ...domain.fields import Catalog
from ...domain.ids import MAX_ID
from ...domain.operators import Activity, Op, Relation
from ...domain.statuses import SegmentStatus
from ...domain.validation import MAX_CONDITIONS
from ...ids import COMMANDERSACT_ID_PATTERN
from ...storage.segments import Segment
from ...timefmt import SEGMENT_STYLE, format_time
from ..schema_parts import ID, ID_DIGITS, TEXT_PATTERN, TEXT_RULE, nullable, text
from .condition_wire import wire_condition

MAX_NAME_LENGTH = 48
MAX_MEMBER_IDS = 1000

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


_CONDITION_SCHEMA = {
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
LooseCondition = Annotated[Any, WithJsonSchema(_CONDITION_SCHEMA)]
# 1 to 48 characters, not blank, none of ^ ? + . * \\ [ ] ( ) and no control character.
_NAME = {
    "type": "string",
    "minLength": 1,
    "maxLength": MAX_NAME_LENGTH,
    "pattern": r"^(?=[\s\S]*\S)[^\^?+.*\\\[\]()\u0000-\u001f\u007f-\u009f]+$",
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


CREATE_EXAMPLE = body_example(
    {"segment_name": "Hubei users", "type": 0, "condition": NAME_CONDITION}
)
UPDATE_EXAMPLE = body_example({"segment_name": "Lei Li", "type": 0, "condition": NAME_CONDITION})
FILTER_EXAMPLE = body_example({"condition": NAME_CONDITION})
MEMBER_IDS_EXAMPLE = body_example({"member_ids": ["1", "2"]})


class SegmentCreate(BaseModel):
    model_config = ConfigDict(json_schema_extra={"required": ["segment_name", "type", "condition"]})

    segment_name: LooseName = Field(
        None, description="1 to 48 characters, none of ^ ? + . * \\ [ ] ( )"
    )
    type: LooseType = Field(None, description="0: by field; 1: by campaign")
    condition: LooseCondition = Field(None, description="The segment's condition")
    list_id: LooseListId = Field(
        None, description="segmentd extension: the list to segment (default: the default list)"
    )
    commandersact_id: Annotated[
        Any,
        WithJsonSchema(
            {"anyOf": [{"type": "string", "pattern": COMMANDERSACT_ID_PATTERN}, {"type": "null"}]}
        ),
    ] = Field(
        None,
        description="segmentd extension: the id the Commanders Act look-up answers for this "
        "segment (8 hex characters, stored upper case, unique in the tenant; default: random). "
        "Give a migrated segment its Commanders Act id so page scripts keep working",
    )


class SegmentUpdate(BaseModel):
    model_config = ConfigDict(json_schema_extra={"required": ["type", "condition"]})

    segment_name: LooseNewName = Field(None, description="New name (unchanged when absent or null)")
    type: LooseType = Field(None, description="0: by field; 1: by campaign")
    condition: LooseCondition = Field(None, description="The segment's condition")


class MemberFilter(BaseModel):
    condition: Annotated[Any, WithJsonSchema({"anyOf": [_CONDITION_SCHEMA, {"type": "null"}]})] = (
        Field(None, description="Extra filter on fields and tags, as in a type 0 condition")
    )


class MemberIds(BaseModel):
    model_config = ConfigDict(json_schema_extra={"required": ["member_ids"]})

    member_ids: Annotated[
        Any,
        WithJsonSchema(
            {"type": "array", "items": text(), "minItems": 1, "maxItems": MAX_MEMBER_IDS}
        ),
    ] = Field(None, description="1 to 1000 member ids")


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


class SegmentOut(BaseModel):
    segment_id: str
    user_id: int
    segment_name: str
    relation: str
    type: int
    list_id: int
    status: str = Field(description='"-1" failed, "1" building, "2" complete')
    create_time: str
    update_time: str
    member_total: int
    condition: Condition
    process: Process

    @classmethod
    def of(cls, segment: Segment, tz: timezone, catalog: Catalog) -> SegmentOut:
        condition = wire_condition(segment.condition, catalog)
        return cls(
            segment_id=segment.id,
            user_id=segment.tenant_id,
            segment_name=segment.name,
            relation=condition["relation"],
            type=segment.segment_type,
            list_id=segment.list_id,
            status=str(segment.status),
            create_time=format_time(segment.created_at, tz, SEGMENT_STYLE) or "",
            update_time=format_time(segment.updated_at, tz, SEGMENT_STYLE) or "",
            member_total=segment.member_total,
            condition=Condition.model_validate(condition),
            process=Process.of(segment),
        )


class SegmentResult(BaseModel):
    result: SegmentOut


class SegmentList(BaseModel):
    result: list[SegmentOut]
    total: int = Field(description="Segments matching the filters")
    count: int = Field(description="Segments in this page")


class ProcessResult(BaseModel):
    result: Process


class Count(BaseModel):
    count: int


class MemberOut(BaseModel):
    id: str
    list_id: int
    email: str
    phone: str | None
    name: str | None
    create_time: str
    update_time: str
    unsubscribe_time: str | None
    fields: dict[str, str | None] = Field(description="Custom field values in their formats")
    tag_ids: list[str]
    tag_names: list[str]


class MemberPage(BaseModel):
    result: list[MemberOut]
    total: int = Field(description="Members of the segment matching the filter")
