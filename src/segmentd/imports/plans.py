"""What an import does with each row and each chunk, per kind (members, events).

A plan is made from the file's header before any row is read, so a header problem (missing
email column, unknown columns, a list or campaign that does not exist) stops the import
with every problem listed and nothing written.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import timezone
from typing import Any, Protocol

from sqlalchemy.engine import Connection

from ..domain.fields import CampaignStatus
from ..storage.campaigns import get_campaign
from ..storage.catalog import custom_fields
from ..storage.members import TagFlag
from ..storage.tenants import default_list_id, list_exists
from ..timefmt import now
from .chunks import Chunk, RowRules
from .event_rows import EventLayout, EventRow, check_event, map_event_header
from .event_writer import UNKNOWN_MEMBER, first_times, resolve_members, write_events
from .jobs import ImportOptions, Kind
from .mapping import ColumnMap, MappingError, map_header
from .member_rows import (
    CopyMember,
    MemberLayout,
    MemberRow,
    check_member,
    copy_member,
    member_layout,
)
from .member_writer import ChunkCounts, tcid_conflicts, write_members


class Plan(Protocol):
    """How one kind of import checks rows (``rules``, picklable) and writes a chunk."""

    tenant_id: int
    list_id: int

    @property
    def rules(self) -> RowRules: ...

    def write(self, conn: Connection, chunk: Chunk) -> ChunkCounts: ...


class MemberRules:
    """Checks members rows; picklable (the converters are rebuilt in each process).

    ``copy``: rows come out as PostgreSQL ``COPY`` text (``CopyMember``), for its writer.
    """

    def __init__(self, columns: ColumnMap, width: int, copy: bool = False) -> None:
        self.columns = columns
        self.width = width
        self.copy = copy
        self.email_at: int | None = columns.email
        self.keeps_cells = columns.tcid is not None  # for tcid conflicts found at write time
        self._layout: MemberLayout | None = None

    def __getstate__(self) -> dict[str, Any]:
        return {**self.__dict__, "_layout": None}

    @property
    def layout(self) -> MemberLayout:
        if self._layout is None:
            self._layout = member_layout(self.columns, self.width)
        return self._layout

    def check(self, cells: Sequence[str]) -> MemberRow | CopyMember:
        row = check_member(self.layout, cells)
        return copy_member(row) if self.copy else row

    def clashes(self, chunk: Chunk, row: MemberRow | CopyMember) -> bool:
        """A repeated email or tcid starts a new chunk: later rows update what earlier made."""
        keys = chunk.keys  # emails as themselves, tcids as ("tcid", tcid): never equal
        tcid = ("tcid", row.tcid) if row.tcid else None
        if row.key in keys or (tcid is not None and tcid in keys):
            return True
        keys.add(row.key)
        if tcid is not None:
            keys.add(tcid)
        return False


@dataclass
class EventRules:
    layout: EventLayout
    tz: timezone
    keeps_cells: bool = True  # for events of unknown members, found at write time

    @property
    def email_at(self) -> int | None:
        return self.layout.positions.get("email")

    def check(self, cells: Sequence[str]) -> EventRow:
        return check_event(self.layout, cells, self.tz, now())

    def clashes(self, chunk: Chunk, row: EventRow) -> bool:
        return False  # events of one member fold together: any order gives the same times


@dataclass
class MembersPlan:
    tenant_id: int
    list_id: int
    rules: MemberRules
    tag_flag: TagFlag
    update_existing: bool

    def write(self, conn: Connection, chunk: Chunk) -> ChunkCounts:
        rows = [row for _, row in chunk.good]
        taken = tcid_conflicts(conn, self.tenant_id, self.list_id, rows)
        for position in sorted(taken, reverse=True):
            number, row = chunk.good.pop(position)
            chunk.reject(number, f"tcid {row.tcid} belongs to another member", chunk.cells[number])
        return write_members(
            conn,
            self.tenant_id,
            self.list_id,
            self.rules.layout,
            [row for _, row in chunk.good],
            tag_flag=self.tag_flag,
            update_existing=self.update_existing,
            stamp=now(),
        )


@dataclass
class EventsPlan:
    tenant_id: int
    list_id: int
    campaign_id: int
    rules: EventRules

    def write(self, conn: Connection, chunk: Chunk) -> ChunkCounts:
        ids = resolve_members(conn, self.tenant_id, self.list_id, [e for _, e in chunk.good])
        pairs = []
        for (number, event), member_id in zip(chunk.good, ids, strict=True):
            if member_id is None:
                chunk.reject(number, UNKNOWN_MEMBER, chunk.cells[number])
            else:
                pairs.append((member_id, event))
        chunk.good = [(n, e) for (n, e), m in zip(chunk.good, ids, strict=True) if m is not None]
        write_events(conn, self.tenant_id, self.campaign_id, first_times(pairs))
        return ChunkCounts(created=len(pairs))


def make_plan(
    conn: Connection,
    *,
    kind: Kind,
    tenant_id: int,
    header: Sequence[str],
    options: ImportOptions,
    tz: timezone,
    list_id: int | None = None,
    campaign_id: int | None = None,
) -> Plan:
    """The plan for this file and target; MappingError lists what stops it."""
    if kind is Kind.EVENTS:
        return _events_plan(conn, tenant_id, header, options, tz, campaign_id)
    if list_id is None or not list_exists(conn, tenant_id, list_id):
        raise MappingError(f"list {list_id} does not exist")
    if options.tag_flag not in tuple(TagFlag):
        raise MappingError("tag_flag must be 0 (overwrite), 1 (append) or 2 (keep existing)")
    columns = map_header(
        header, custom_fields(conn, tenant_id), options.renames, options.ignore_unknown
    )
    return MembersPlan(
        tenant_id,
        list_id,
        MemberRules(columns, len(header), copy=conn.dialect.name == "postgresql"),
        TagFlag(options.tag_flag),
        options.update_existing,
    )


def _events_plan(
    conn: Connection,
    tenant_id: int,
    header: Sequence[str],
    options: ImportOptions,
    tz: timezone,
    campaign_id: int | None,
) -> EventsPlan:
    campaign = None if campaign_id is None else get_campaign(conn, tenant_id, campaign_id)
    if campaign is None or campaign_id is None:
        raise MappingError(f"campaign {campaign_id} does not exist")
    if campaign.status is CampaignStatus.DRAFT:
        raise MappingError("the campaign is a draft: set it sending or completed before its events")
    layout = map_event_header(header, options.ignore_unknown)
    # A campaign without a list targets the tenant's default list, as the events API does.
    list_id = campaign.list_id or default_list_id(conn, tenant_id)
    return EventsPlan(tenant_id, list_id, campaign_id, EventRules(layout, tz))
