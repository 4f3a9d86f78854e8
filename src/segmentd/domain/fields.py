"""Field definitions: the five EngageLab field types plus the system fields every member has."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from enum import IntEnum, StrEnum

from .segment_graph import SegmentNode


class FieldType(IntEnum):
    """EngageLab's ``field_type`` numbers; TIMESTAMP is ours, for the system times."""

    TEXT = 0
    NUMBER = 1
    DATE = 2
    BIRTHDAY = 3
    DROPDOWN = 4
    TIMESTAMP = 100


NUMBER_FORMATS = ("0", ".0", ".00")
DATE_FORMATS = ("MM/DD/YYYY", "DD/MM/YYYY")
BIRTHDAY_FORMATS = ("MM/DD", "DD/MM")
DEFAULT_FORMATS = {FieldType.NUMBER: "0", FieldType.DATE: "MM/DD/YYYY", FieldType.BIRTHDAY: "MM/DD"}
MAX_DROPDOWN_OPTIONS = 10


class SystemField(StrEnum):
    EMAIL = "Email"
    NAME = "Name"
    PHONE = "Phone"
    DOMAIN = "Domain"
    CREATE_TIME = "CreateTime"
    UPDATE_TIME = "UpdateTime"
    UNSUBSCRIBE_TIME = "UnsubscribeTime"


# Names no custom field may take, in any letter case (EngageLab's reserved list).
RESERVED_NAMES = frozenset(name.casefold() for name in (*SystemField, "Tag", "Campaign", "Segment"))


@dataclass(frozen=True)
class FieldDef:
    """One field a condition can test. ``slot`` places a custom field's value in storage."""

    name: str
    type: FieldType
    format: str | None = None
    options: tuple[str, ...] = ()
    slot: int | None = None
    system: bool = False
    visible: bool = True
    id: int | None = field(default=None, compare=False)

    @property
    def key(self) -> str:
        return self.name.casefold()


SYSTEM_FIELDS: tuple[FieldDef, ...] = (
    FieldDef(SystemField.EMAIL, FieldType.TEXT, system=True),
    FieldDef(SystemField.NAME, FieldType.TEXT, system=True),
    FieldDef(SystemField.PHONE, FieldType.TEXT, system=True),
    FieldDef(SystemField.DOMAIN, FieldType.TEXT, system=True),
    FieldDef(SystemField.CREATE_TIME, FieldType.TIMESTAMP, system=True),
    FieldDef(SystemField.UPDATE_TIME, FieldType.TIMESTAMP, system=True),
    FieldDef(SystemField.UNSUBSCRIBE_TIME, FieldType.TIMESTAMP, system=True),
)


class CampaignStatus(StrEnum):
    DRAFT = "draft"
    SENDING = "sending"
    COMPLETED = "completed"
    CANCELLED = "cancelled"


# Segments by campaign only make sense once mail has gone out.
SEGMENTABLE_CAMPAIGN_STATUSES = frozenset({CampaignStatus.SENDING, CampaignStatus.COMPLETED})


@dataclass(frozen=True)
class Catalog:
    """What one tenant's conditions may refer to: fields, tags (id to name), campaign
    statuses and segments (by id, with what they refer to). Stored conditions name fields and
    tags by id; clients name them by name."""

    fields: Mapping[str, FieldDef]
    tag_names: Mapping[int, str] = field(default_factory=dict)
    campaigns: Mapping[int, CampaignStatus] = field(default_factory=dict)
    segments: Mapping[str, SegmentNode] = field(default_factory=dict)
    tags: frozenset[str] = field(init=False)
    tag_ids: Mapping[str, int] = field(init=False)
    _by_id: Mapping[int, FieldDef] = field(init=False, repr=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "tags", frozenset(self.tag_names.values()))
        object.__setattr__(self, "tag_ids", {name: i for i, name in self.tag_names.items()})
        by_id = {f.id: f for f in self.fields.values() if f.id is not None and not f.system}
        object.__setattr__(self, "_by_id", by_id)

    @classmethod
    def build(
        cls,
        custom_fields: Iterable[FieldDef] = (),
        tags: Mapping[int, str] | None = None,
        campaigns: Mapping[int, CampaignStatus] | None = None,
        segments: Mapping[str, SegmentNode] | None = None,
    ) -> Catalog:
        fields = {f.key: f for f in (*SYSTEM_FIELDS, *custom_fields)}
        return cls(
            fields=fields,
            tag_names=dict(tags or {}),
            campaigns=dict(campaigns or {}),
            segments=dict(segments or {}),
        )

    def field(self, name: str) -> FieldDef | None:
        return self.fields.get(name.casefold())

    def field_by_id(self, field_id: int) -> FieldDef | None:
        return self._by_id.get(field_id)
