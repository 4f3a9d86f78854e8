"""The native segments API's shapes: a segment as it answers it, the request bodies (their
fields checked by the use cases, so that errors name the offending input; documented here
with the exact rules), and the pages."""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, JsonValue, WithJsonSchema

from ...domain.errors import DomainValidationError
from ...domain.fields import Catalog
from ...domain.native_form import render_native
from ...domain.plain_words import plain_words
from ...domain.segment_kinds import SegmentKind
from ...domain.statuses import SegmentStatus
from ...domain.stored_form import load_condition
from ...services.static_segments import MAX_GIVEN
from ...storage.segments import Segment
from ..common.schema_parts import ID, ID_DIGITS, not_blank_pattern, nullable
from ..common.segment_schema import LooseListId, LooseName
from .condition_schema import NODE_REF

COMPUTED, STATIC = "computed", "static"
STATUS_WORDS = {
    SegmentStatus.FAILED: "failed",
    SegmentStatus.BUILDING: "building",
    SegmentStatus.COMPLETE: "complete",
}
COMMANDERSACT_ID = {"type": "string", "pattern": "^[0-9A-Fa-f]{8}$"}
EMAIL = {"type": "string", "minLength": 1, "pattern": not_blank_pattern(r"\u0000")}
MEMBER_ID = {"anyOf": [ID, ID_DIGITS]}
_EMAILS = {"type": "array", "maxItems": MAX_GIVEN, "items": EMAIL}
_MEMBER_IDS = {"type": "array", "maxItems": MAX_GIVEN, "items": MEMBER_ID}
MEMBERS_SCHEMA = {
    "type": "object",
    "properties": {"emails": nullable(_EMAILS), "member_ids": nullable(_MEMBER_IDS)},
}

LooseCondition = Annotated[Any, WithJsonSchema({"allOf": [NODE_REF]})]
LooseCommandersActId = Annotated[Any, WithJsonSchema(nullable(COMMANDERSACT_ID))]
LooseKind = Annotated[Any, WithJsonSchema({"type": "string", "enum": [COMPUTED, STATIC]})]
LooseMembers = Annotated[Any, WithJsonSchema(nullable(MEMBERS_SCHEMA))]
LooseEmails = Annotated[Any, WithJsonSchema(nullable(_EMAILS))]
LooseMemberIds = Annotated[Any, WithJsonSchema(nullable(_MEMBER_IDS))]

_NAME_TEXT = "1 to 48 characters, not blank, none of ^ ? + . * \\ [ ] ( ) nor control characters"
_COMMANDERSACT_TEXT = (
    "The id the Commanders Act look-up answers (8 hex characters, stored upper case; 400 "
    "when another segment of the tenant has it); null or absent: a random one"
)
# A computed segment needs a condition and takes no members; a static one says its kind and
# takes no condition.
_SHAPES: list[JsonValue] = [
    {
        "required": ["condition"],
        "properties": {
            "kind": {"type": "string", "enum": [COMPUTED]},
            "members": {"type": "null"},
        },
    },
    {
        "required": ["kind"],
        "properties": {"kind": {"type": "string", "enum": [STATIC]}, "condition": False},
    },
]


class NewSegment(BaseModel):
    model_config = ConfigDict(json_schema_extra={"required": ["name"], "anyOf": _SHAPES})

    name: LooseName = Field(None, description=f"{_NAME_TEXT}; unique in the tenant (409)")
    list_id: LooseListId = Field(None, description="The list (default: the default list)")
    kind: LooseKind = Field(None, description="computed (default) or static")
    condition: LooseCondition = Field(
        None, description="A computed segment's condition (a static one takes none)"
    )
    commandersact_id: LooseCommandersActId = Field(None, description=_COMMANDERSACT_TEXT)
    members: LooseMembers = Field(
        None,
        description=f"A static segment's first members: at most {MAX_GIVEN} emails and "
        f"{MAX_GIVEN} member ids, each naming a member of its list (computed: null or absent)",
    )


class SegmentReplacement(BaseModel):
    model_config = ConfigDict(json_schema_extra={"required": ["name", "condition"]})

    name: LooseName = Field(None, description=_NAME_TEXT)
    condition: LooseCondition = Field(None, description="The new condition (rebuilds)")


class SegmentChange(BaseModel):
    """Absent fields stay as they are."""

    name: LooseName = Field(None, description=_NAME_TEXT)
    condition: LooseCondition = Field(None, description="The new condition (rebuilds)")
    commandersact_id: LooseCommandersActId = Field(
        None, description="A new Commanders Act id (null: a new random one)"
    )


class CountRequest(BaseModel):
    model_config = ConfigDict(json_schema_extra={"required": ["condition"]})

    list_id: LooseListId = Field(None, description="The list (default: the default list)")
    condition: LooseCondition = Field(None, description="The condition, as on creation")


_GIVEN_SHAPES: list[JsonValue] = [
    {"required": ["emails"], "properties": {"emails": {"type": "array", "minItems": 1}}},
    {"required": ["member_ids"], "properties": {"member_ids": {"type": "array", "minItems": 1}}},
]


class MemberEntries(BaseModel):
    model_config = ConfigDict(json_schema_extra={"anyOf": _GIVEN_SHAPES})

    emails: LooseEmails = Field(None, description=f"At most {MAX_GIVEN} emails (any case)")
    member_ids: LooseMemberIds = Field(None, description=f"At most {MAX_GIVEN} member ids")


class Count(BaseModel):
    count: int = Field(description="Members of the list the condition selects now")


class SegmentRef(BaseModel):
    segment_id: str
    name: str


class NativeSegment(BaseModel):
    id: str = Field(description="The id EngageLab's API and the Commanders Act look-up use")
    name: str
    list_id: int
    kind: str = Field(json_schema_extra={"enum": [COMPUTED, STATIC]})
    condition: Annotated[dict[str, Any] | None, WithJsonSchema(nullable(NODE_REF))] = Field(
        description="The native tree, fields and tags by their names now (static: null)"
    )
    description: str = Field(description="The whole condition in plain words")
    status: str = Field(json_schema_extra={"enum": ["building", "complete", "failed"]})
    progress: int = Field(ge=0, le=100, description="Percent of the running build")
    member_total: int = Field(description="Members of the published membership")
    commandersact_id: str
    time_dependent: bool = Field(description="Days passing change its members")
    exact_at: str | None = Field(description="When its membership was last made exact")
    created_at: str
    updated_at: str
    refers_to: list[SegmentRef] = Field(description="Segments its condition refers to")
    referred_by: list[SegmentRef] = Field(description="Segments whose conditions refer to it")


class SegmentPage(BaseModel):
    items: list[NativeSegment]
    total: int
    offset: int
    limit: int
    next_offset: int | None = Field(description="The next page's offset; null at the end")


def next_offset(offset: int, shown: int, total: int) -> int | None:
    return offset + shown if shown and offset + shown < total else None


def _time(epoch: int | None, tz: timezone) -> str | None:
    return None if epoch is None else datetime.fromtimestamp(epoch, tz).isoformat()


def _words(segment: Segment, catalog: Catalog, tz: timezone) -> str:
    if segment.kind is SegmentKind.STATIC:
        return "Members given by hand"
    try:
        return plain_words(load_condition(segment.condition, catalog, tz))
    except DomainValidationError:
        return ""  # a stored condition naming what no longer loads says nothing


def _refs(ids: Any, catalog: Catalog) -> list[SegmentRef]:
    nodes = catalog.segments
    found = [SegmentRef(segment_id=i, name=nodes[i].name) for i in ids if i in nodes]
    return sorted(found, key=lambda ref: (ref.name, ref.segment_id))


def native_segment(segment: Segment, catalog: Catalog, tz: timezone) -> NativeSegment:
    static = segment.kind is SegmentKind.STATIC
    node = catalog.segments.get(segment.id)
    referrers = [i for i, other in catalog.segments.items() if segment.id in other.refs]
    complete = segment.status == SegmentStatus.COMPLETE
    return NativeSegment(
        id=segment.id,
        name=segment.name,
        list_id=segment.list_id,
        kind=STATIC if static else COMPUTED,
        condition=None if static else render_native(segment.condition, catalog),
        description=_words(segment, catalog, tz),
        status=STATUS_WORDS.get(SegmentStatus(segment.status), "building"),
        progress=100 if complete else segment.percent,
        member_total=segment.member_total,
        commandersact_id=segment.commandersact_id,
        time_dependent=segment.time_dependent,
        exact_at=_time(segment.exact_at, tz),
        created_at=_time(segment.created_at, tz) or "",
        updated_at=_time(segment.updated_at, tz) or "",
        refers_to=_refs(sorted(node.refs) if node else [], catalog),
        referred_by=_refs(referrers, catalog),
    )
