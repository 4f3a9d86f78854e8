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
from ..storage.tags import TOO_MANY_TAGS
from ..storage.tenants import default_list_id, list_exists
from ..timefmt import now
from .chunks import Chunk, RowRules
from .csv_member_rows import (
    CopyMember,
    MemberLayout,
    MemberRow,
    check_member,
    copy_member,
    fold,
    member_layout,
    uncopy_member,
)
from .event_rows import EventLayout, EventRow, check_event, map_event_header
from .event_writer import UNKNOWN_MEMBER, first_times, resolve_members, write_events
from .import_jobs import ImportOptions, Kind
from .mapping import ColumnMap, MappingError, map_header
from .member_writer import ChunkCounts, TooManyTags, tcid_conflicts, write_members


class Plan(Protocol):
    """How one kind of import checks rows (``rules``, picklable) and writes a chunk."""

    tenant_id: int
    list_id: int

    @property
    def rules(self) -> RowRules: ...

    def write(self, conn: Connection, chunk: Chunk) -> ChunkCounts: ...


class MemberRules:
    """Checks members rows; picklable (the converters are rebuilt in each process).

    Rows of one email in a chunk are folded into one, in file order (``member_rows.fold``).
    ``copy``: rows come out as PostgreSQL ``COPY`` text (``CopyMember``), for its writer.
    """

    def __init__(
        self,
        columns: ColumnMap,
        width: int,
        copy: bool = False,
        tag_flag: TagFlag = TagFlag.APPEND,
        update_existing: bool = True,
    ) -> None:
        self.columns = columns
        self.width = width
        self.copy = copy
        self.tag_flag = tag_flag
        self.update_existing = update_existing
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

    def check(self, cells: Sequence[str]) -> MemberRow:
        return check_member(self.layout, cells)

    def place(self, chunk: Chunk, number: int, row: MemberRow) -> bool:
        """Fold a repeated email into its earlier row; a tcid that an earlier row of another
        email holds starts a new chunk (that row is written first, as in the file)."""
        keys = chunk.keys  # emails as themselves, tcids as ("tcid", tcid): never equal
        at = keys.get(row.key)
        tcid = ("tcid", row.tcid) if row.tcid else None
        owner = keys.get(tcid) if tcid is not None else None
        if owner is not None and owner != at:
            return False
        if at is None:
            at = len(chunk.good)
            chunk.good.append((number, self._out(row)))
        else:
            kept, written = chunk.good[at]
            # COPY rows are made at once (formatting them later, from rows kept aside, was
            # a fifth slower) and read back only for a fold.
            earlier = uncopy_member(written) if self.copy else written
            merged = fold(earlier, row, self.tag_flag, self.update_existing)
            chunk.good[at] = (kept, self._out(merged))
            chunk.folded.setdefault(kept, []).append(number)
        keys[row.key] = at
        if tcid is not None:
            keys[tcid] = at
        return True

    def _out(self, row: MemberRow) -> MemberRow | CopyMember:
        return copy_member(row) if self.copy else row


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

    def place(self, chunk: Chunk, number: int, row: EventRow) -> bool:
        chunk.good.append((number, row))  # events of one member fold together at write time
        return True


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
            self._reject(chunk, number, row.key, f"tcid {row.tcid} belongs to another member")
        while True:
            try:
                with conn.begin_nested():  # undone alone when appended tags go over the limit
                    counts = self._write(conn, chunk)
                break
            except TooManyTags as over:
                self._refuse(chunk, over.keys, TOO_MANY_TAGS)
        # Rows folded into an earlier row of their email: each is one more update (or skip).
        folded = sum(len(chunk.folded.get(number, ())) for number, _ in chunk.good)
        if self.update_existing:
            counts.updated += folded
        else:
            counts.skipped += folded
        return counts

    def _write(self, conn: Connection, chunk: Chunk) -> ChunkCounts:
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

    def _refuse(self, chunk: Chunk, keys: set[str], reason: str) -> None:
        kept = [(number, row) for number, row in chunk.good if row.key not in keys]
        if len(kept) == len(chunk.good):
            raise RuntimeError(f"no row of the chunk has the email keys {sorted(keys)[:3]}")
        for number, row in chunk.good:
            if row.key in keys:
                self._reject(chunk, number, row.key, reason)
        chunk.good = kept

    def _reject(self, chunk: Chunk, number: int, key: str, reason: str) -> None:
        """Reject a row found bad at write time, with the rows folded into it. Their cells
        are kept when the file has a tcid column; else the rejected-rows file shows the
        email alone."""
        width, email_at = self.rules.width, self.rules.columns.email
        for each in (number, *chunk.folded.pop(number, ())):
            cells = chunk.cells.get(each)
            if cells is None:
                cells = [key if position == email_at else "" for position in range(width)]
            chunk.reject(each, reason, cells)


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
        MemberRules(
            columns,
            len(header),
            copy=conn.dialect.name == "postgresql",
            tag_flag=TagFlag(options.tag_flag),
            update_existing=options.update_existing,
        ),
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
