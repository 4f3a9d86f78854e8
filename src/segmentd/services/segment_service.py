"""Segment use cases in EngageLab's flat form: create, update, preview a count; and for
every segment: delete, rebuild, remove members. (The native form's: ``native_segments``;
static segments': ``static_segments``.)

Every API family, the demo and the command line go through here, so a segment is made and
checked one way. Rules are checked in the order the EngageLab API states them (name, type,
Commanders Act id, then list and condition inside the transaction), so whichever error comes
first reads the same everywhere. Errors are ``domain.errors``; each family words them.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import timezone
from typing import Any

from sqlalchemy.engine import Connection

from ..domain.conditions import Group
from ..domain.errors import DomainValidationError, NotFound
from ..domain.fields import Catalog
from ..domain.segment_graph import check_deletable
from ..domain.segment_kinds import SegmentKind
from ..domain.stored_form import dump_condition
from ..domain.validation import SegmentType, parse_condition
from ..jobs.analytics_source import AnalyticsSource
from ..jobs.build_queue import enqueue_build
from ..membership import store as membership
from ..storage import segments as store
from ..storage.catalog import load_catalog
from ..storage.db import Database
from ..storage.webhooks import delete_segment_webhooks
from ..storage.write_lock import lock_tenant_writes
from .condition_counts import count_selected
from .segment_rules import checked_commandersact_id, checked_list, checked_name, checked_type


@dataclass(frozen=True)
class SegmentDraft:
    """A segment as the client sent it (EngageLab's flat form), unchecked. On update, a
    ``name`` of None keeps it."""

    name: Any = None
    segment_type: Any = None
    condition: Any = None
    list_id: Any = None
    commandersact_id: Any = None


def create_segment(
    db: Database, tenant_id: int, draft: SegmentDraft, tz: timezone
) -> store.Segment:
    """Check and save a new segment, and queue its first build (status building)."""
    _check_envelope(draft)  # before taking the write lock: most refusals need no database
    with db.write() as conn:
        segment_id = create_segment_in(conn, tenant_id, draft, tz)
        return _found(store.get_segment(conn, tenant_id, segment_id))


def create_segment_in(conn: Connection, tenant_id: int, draft: SegmentDraft, tz: timezone) -> str:
    """``create_segment`` in the caller's write transaction; returns the new segment's id."""
    name, segment_type, commandersact_id = _check_envelope(draft)
    lock_tenant_writes(conn, tenant_id)  # the catalog must not change under the check
    list_id = checked_list(conn, tenant_id, draft.list_id)
    condition = checked_definition(conn, tenant_id, draft, segment_type, tz)
    return insert_segment(
        conn,
        tenant_id,
        list_id=list_id,
        name=name,
        segment_type=segment_type,
        condition=condition,
        commandersact_id=commandersact_id,
    )


def _check_envelope(draft: SegmentDraft) -> tuple[str, SegmentType, str | None]:
    """Name, type and Commanders Act id."""
    name, segment_type = checked_name(draft.name), checked_type(draft.segment_type)
    return name, segment_type, checked_commandersact_id(draft.commandersact_id)


def update_segment(
    db: Database, tenant_id: int, segment_id: str, draft: SegmentDraft, tz: timezone
) -> store.Segment:
    """Check and save a new definition, and queue a rebuild; the previous membership stays
    readable meanwhile. The list and the Commanders Act id never change."""
    name = None if draft.name is None else checked_name(draft.name)
    segment_type = checked_type(draft.segment_type)
    with db.write() as conn:
        lock_tenant_writes(conn, tenant_id)  # the catalog must not change under the check
        refuse_static(_found(store.get_segment(conn, tenant_id, segment_id, for_update=True)))
        condition = checked_definition(conn, tenant_id, draft, segment_type, tz)
        redefine_segment(
            conn, tenant_id, segment_id, name=name, segment_type=segment_type, condition=condition
        )
        return _found(store.get_segment(conn, tenant_id, segment_id))


def refuse_static(segment: store.Segment) -> store.Segment:
    """A static segment has no condition to redefine: its members are changed instead."""
    if segment.kind is SegmentKind.STATIC:
        message = f"segment {segment.name} is static: its members are given, not a condition"
        raise DomainValidationError("condition", message)
    return segment


def delete_segment(db: Database, tenant_id: int, segment_id: str) -> None:
    """Delete a segment with its memberships, exclusions, build jobs and webhook
    subscriptions, its members recorded leaving it in the history. Refused (``InUse``)
    while another segment's condition refers to it."""
    with db.write() as conn:
        lock_tenant_writes(conn, tenant_id)  # real-time updates must not refill a deleted segment
        graph = load_catalog(conn, tenant_id).segments
        if segment_id in graph:
            check_deletable(graph, segment_id)
        segment = store.get_segment(conn, tenant_id, segment_id, for_update=True)
        if segment is None:
            raise NotFound(segment_id)
        membership().delete_segment(conn, segment)
        store.delete_segment(conn, tenant_id, segment_id, memberships=False)
        delete_segment_webhooks(conn, tenant_id, segment_id)


def rebuild_segment(db: Database, tenant_id: int, segment_id: str) -> None:
    """Queue a fresh build of the segment as it is defined (a static one has none)."""
    with db.write() as conn:
        _found(store.get_segment(conn, tenant_id, segment_id))
        enqueue_build(conn, tenant_id, segment_id)


def remove_members(
    db: Database, tenant_id: int, segment_id: str, member_ids: Sequence[int], tz: timezone
) -> int:
    """Take members out of the segment for good (a static segment: until given again); how
    many left its published membership. The segments referring to it follow at once."""
    with db.write() as conn:
        lock_tenant_writes(conn, tenant_id)  # real-time updates must see the new exclusions
        segment = _found(store.get_segment(conn, tenant_id, segment_id, for_update=True))
        if segment.kind is SegmentKind.STATIC:
            removed = membership().remove_given(conn, segment, member_ids)
        else:
            removed = membership().remove(conn, tenant_id, segment_id, member_ids) or 0
        if removed:
            membership().refresh_referrers(conn, tenant_id, segment_id, member_ids, tz)
    return removed


def preview_count(
    db: Database,
    tenant_id: int,
    draft: SegmentDraft,
    tz: timezone,
    analytics: AnalyticsSource | None = None,
) -> int:
    """How many members of the draft's list its condition selects now; saves nothing.
    ``analytics``: count on the analytics back-end (its copy brought up to date first)."""
    segment_type = checked_type(draft.segment_type)
    with db.snapshot() as conn:  # its range statements must read one state (condition_counts)
        list_id = checked_list(conn, tenant_id, draft.list_id)
        if analytics is None:
            return count_condition(conn, tenant_id, list_id, segment_type, draft.condition, tz)
        catalog = load_catalog(conn, tenant_id)
        condition = parsed_condition(draft.condition, catalog, segment_type, tz)
    return analytics.count(db, tenant_id, list_id, condition)


def count_condition(
    conn: Connection,
    tenant_id: int,
    list_id: int,
    segment_type: SegmentType,
    raw_condition: Any,
    tz: timezone,
    excluded_by: str | None = None,
) -> int:
    """How many members of the list the flat condition selects now, less those removed by
    hand from segment ``excluded_by``: what its build would publish."""
    catalog = load_catalog(conn, tenant_id)
    condition = parsed_condition(raw_condition, catalog, segment_type, tz)
    return count_selected(conn, tenant_id, list_id, condition, excluded_by)


def parsed_condition(
    raw: Any,
    catalog: Catalog,
    segment_type: SegmentType,
    tz: timezone,
) -> Group:
    """The typed tree of a condition in the flat form, for ``segment_type``."""
    if raw is None:
        raise DomainValidationError("condition", "condition is required")
    return parse_condition(raw, catalog, segment_type, tz)


def checked_definition(
    conn: Connection,
    tenant_id: int,
    draft: SegmentDraft,
    segment_type: SegmentType,
    tz: timezone,
) -> dict[str, Any]:
    """The draft's flat condition validated against the tenant's catalog, in the stored
    form."""
    catalog = load_catalog(conn, tenant_id)
    return dump_condition(parsed_condition(draft.condition, catalog, segment_type, tz))


def insert_segment(
    conn: Connection,
    tenant_id: int,
    *,
    list_id: int,
    name: str,
    segment_type: int,
    condition: dict[str, Any],
    commandersact_id: str | None = None,
) -> str:
    """Write a checked segment and queue its first build, in the caller's transaction."""
    try:
        segment_id = store.create_segment(
            conn,
            tenant_id,
            list_id=list_id,
            name=name,
            segment_type=segment_type,
            condition=condition,
            commandersact_id=commandersact_id,
        )
    except store.CommandersActIdTaken:
        message = f"commandersact_id {commandersact_id} is taken by another segment"
        raise DomainValidationError("commandersact_id", message) from None
    enqueue_build(conn, tenant_id, segment_id)
    return segment_id


def redefine_segment(
    conn: Connection,
    tenant_id: int,
    segment_id: str,
    *,
    name: str | None,
    segment_type: int,
    condition: dict[str, Any],
) -> bool:
    """Write a checked definition and queue a rebuild, in the caller's transaction; False
    when the tenant has no such segment."""
    if not store.update_segment(
        conn, tenant_id, segment_id, name=name, segment_type=segment_type, condition=condition
    ):
        return False
    enqueue_build(conn, tenant_id, segment_id)
    return True


def _found(segment: store.Segment | None) -> store.Segment:
    if segment is None:
        raise NotFound("segment")
    return segment
