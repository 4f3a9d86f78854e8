"""Segment use cases: create, update, delete, rebuild, preview a count, remove members.

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

from ..domain.errors import DomainValidationError, NotFound
from ..domain.stored_form import dump_condition
from ..domain.validation import SegmentType, parse_condition
from ..jobs.build_queue import enqueue_build
from ..membership import store as membership
from ..storage import segments as store
from ..storage.catalog import load_catalog
from ..storage.compiler import compile_condition
from ..storage.db import Database
from ..storage.list_members import count_matching
from ..storage.write_lock import lock_tenant_writes
from .segment_rules import checked_commandersact_id, checked_list, checked_name, checked_type


@dataclass(frozen=True)
class SegmentDraft:
    """A segment as the client sent it, unchecked. On update, a ``name`` of None keeps it."""

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
    condition = checked_condition(conn, tenant_id, draft.condition, segment_type, tz)
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
        _found(store.get_segment(conn, tenant_id, segment_id, for_update=True))
        condition = checked_condition(conn, tenant_id, draft.condition, segment_type, tz)
        redefine_segment(
            conn, tenant_id, segment_id, name=name, segment_type=segment_type, condition=condition
        )
        return _found(store.get_segment(conn, tenant_id, segment_id))


def delete_segment(db: Database, tenant_id: int, segment_id: str) -> None:
    """Delete a segment with its memberships, exclusions and build jobs."""
    with db.write() as conn:
        lock_tenant_writes(conn, tenant_id)  # real-time updates must not refill a deleted segment
        if not store.delete_segment(conn, tenant_id, segment_id):
            raise NotFound(segment_id)


def rebuild_segment(db: Database, tenant_id: int, segment_id: str) -> None:
    """Queue a fresh build of the segment as it is defined."""
    with db.write() as conn:
        _found(store.get_segment(conn, tenant_id, segment_id))
        enqueue_build(conn, tenant_id, segment_id)


def remove_members(db: Database, tenant_id: int, segment_id: str, member_ids: Sequence[int]) -> int:
    """Take members out of the segment for good; how many left its published membership."""
    with db.write() as conn:
        lock_tenant_writes(conn, tenant_id)  # real-time updates must see the new exclusions
        removed = membership().remove(conn, tenant_id, segment_id, member_ids)
    if removed is None:
        raise NotFound(segment_id)
    return removed


def preview_count(db: Database, tenant_id: int, draft: SegmentDraft, tz: timezone) -> int:
    """How many members of the draft's list its condition selects now; saves nothing."""
    segment_type = checked_type(draft.segment_type)
    with db.read() as conn:
        list_id = checked_list(conn, tenant_id, draft.list_id)
        return count_condition(conn, tenant_id, list_id, segment_type, draft.condition, tz)


def count_condition(
    conn: Connection,
    tenant_id: int,
    list_id: int,
    segment_type: SegmentType,
    raw_condition: Any,
    tz: timezone,
    excluded_by: str | None = None,
) -> int:
    """How many members of the list the condition selects now, less those removed by hand
    from segment ``excluded_by`` (the one being edited): what its build would publish."""
    if raw_condition is None:
        raise DomainValidationError("condition", "condition is required")
    condition = parse_condition(raw_condition, load_catalog(conn, tenant_id), segment_type, tz)
    where = compile_condition(condition, tenant_id=tenant_id)
    return count_matching(conn, tenant_id, list_id, where, excluded_by)


def checked_condition(
    conn: Connection, tenant_id: int, raw: Any, segment_type: SegmentType, tz: timezone
) -> dict[str, Any]:
    """Validate a condition (EngageLab's flat form) against the tenant's catalog; return its
    stored form."""
    if raw is None:
        raise DomainValidationError("condition", "condition is required")
    return dump_condition(parse_condition(raw, load_catalog(conn, tenant_id), segment_type, tz))


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
