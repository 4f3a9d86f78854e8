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
from ...random_ids import COMMANDERSACT_ID_PATTERN
from ...services.segment_rules import MAX_MEMBER_IDS
from ...storage.segments import Segment
from ...timefmt import SEGMENT_STYLE, format_time
from ..common.schema_parts import text
from ..common.segment_schema import (
    CONDITION_SCHEMA,
    NAME_CONDITION,
    Condition,
    LooseCondition,
    LooseListId,
    LooseName,
    LooseNewName,
    LooseType,
    Process,
    body_example,
)
from .condition_wire import wire_condition

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
    condition: Annotated[Any, WithJsonSchema({"anyOf": [CONDITION_SCHEMA, {"type": "null"}]})] = (
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
        condition = wire_condition(segment.condition, catalog, segment.kind)
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
