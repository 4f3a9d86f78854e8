"""Segment use cases: create, update, delete, rebuild, preview a count, remove members.
(Static segments' own use cases: ``static_segments``.)

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

from ..domain.condition_types import campaign_leaf
from ..domain.conditions import Group, leaves
from ..domain.errors import DomainValidationError, NotFound
from ..domain.fields import Catalog
from ..domain.native_form import parse_native
from ..domain.segment_graph import SegmentOwner, check_deletable
from ..domain.segment_kinds import SegmentKind
from ..domain.stored_form import dump_condition
from ..domain.validation import SegmentType, parse_condition
from ..jobs.build_queue import enqueue_build
from ..membership import store as membership
from ..storage import segments as store
from ..storage.catalog import load_catalog
from ..storage.db import Database
from ..storage.write_lock import lock_tenant_writes
from .condition_counts import count_selected
from .segment_rules import checked_commandersact_id, checked_list, checked_name, checked_type


@dataclass(frozen=True)
class SegmentDraft:
    """A segment as the client sent it, unchecked. On update, a ``name`` of None keeps it.

    ``native``: the condition is a native tree (``domain.native_form``), and the segment type
    follows from it (``engagelab_type``); else it is EngageLab's flat form, with its type.
    """

    name: Any = None
    segment_type: Any = None
    condition: Any = None
    list_id: Any = None
    commandersact_id: Any = None
    native: bool = False


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
    owner = SegmentOwner(None, name, list_id)
    condition, segment_type = checked_definition(conn, tenant_id, draft, segment_type, tz, owner)
    return insert_segment(
        conn,
        tenant_id,
        list_id=list_id,
        name=name,
        segment_type=segment_type,
        condition=condition,
        commandersact_id=commandersact_id,
    )


def _check_envelope(draft: SegmentDraft) -> tuple[str, SegmentType | None, str | None]:
    """Name, type (None for a native draft: its condition decides) and Commanders Act id."""
    name, segment_type = checked_name(draft.name), _draft_type(draft)
    return name, segment_type, checked_commandersact_id(draft.commandersact_id)


def _draft_type(draft: SegmentDraft) -> SegmentType | None:
    return None if draft.native else checked_type(draft.segment_type)


def update_segment(
    db: Database, tenant_id: int, segment_id: str, draft: SegmentDraft, tz: timezone
) -> store.Segment:
    """Check and save a new definition, and queue a rebuild; the previous membership stays
    readable meanwhile. The list and the Commanders Act id never change."""
    name = None if draft.name is None else checked_name(draft.name)
    segment_type = _draft_type(draft)
    with db.write() as conn:
        lock_tenant_writes(conn, tenant_id)  # the catalog must not change under the check
        segment = refuse_static(
            _found(store.get_segment(conn, tenant_id, segment_id, for_update=True))
        )
        owner = SegmentOwner(segment_id, segment.name if name is None else name, segment.list_id)
        condition, segment_type = checked_definition(
            conn, tenant_id, draft, segment_type, tz, owner
        )
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
    """Delete a segment with its memberships, exclusions and build jobs. Refused (``InUse``)
    while another segment's condition refers to it."""
    with db.write() as conn:
        lock_tenant_writes(conn, tenant_id)  # real-time updates must not refill a deleted segment
        graph = load_catalog(conn, tenant_id).segments
        if segment_id in graph:
            check_deletable(graph, segment_id)
        if not store.delete_segment(conn, tenant_id, segment_id):
            raise NotFound(segment_id)


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


def preview_count(db: Database, tenant_id: int, draft: SegmentDraft, tz: timezone) -> int:
    """How many members of the draft's list its condition selects now; saves nothing."""
    found = _draft_type(draft)
    segment_type = SegmentType.BY_FIELD if found is None else found
    with db.read() as conn:
        list_id = checked_list(conn, tenant_id, draft.list_id)
        return count_condition(
            conn, tenant_id, list_id, segment_type, draft.condition, tz, native=draft.native
        )


def count_condition(
    conn: Connection,
    tenant_id: int,
    list_id: int,
    segment_type: SegmentType,
    raw_condition: Any,
    tz: timezone,
    excluded_by: str | None = None,
    *,
    native: bool = False,
) -> int:
    """How many members of the list the condition selects now, less those removed by hand
    from segment ``excluded_by`` (the one being edited): what its build would publish.
    ``native``: the condition is a native tree (``segment_type`` is then not read)."""
    catalog = load_catalog(conn, tenant_id)
    condition = parsed_condition(raw_condition, catalog, segment_type, tz, native=native)
    return count_selected(conn, tenant_id, list_id, condition, excluded_by)


def parsed_condition(
    raw: Any,
    catalog: Catalog,
    segment_type: SegmentType,
    tz: timezone,
    *,
    native: bool,
    owner: SegmentOwner | None = None,
) -> Group:
    """The typed tree of a condition in the flat form (for ``segment_type``) or native form;
    ``owner``: the segment it is saved for, whose references are checked."""
    if raw is None:
        raise DomainValidationError("condition", "condition is required")
    if native:
        return parse_native(raw, catalog, tz, owner=owner)
    return parse_condition(raw, catalog, segment_type, tz)


def engagelab_type(tree: Group) -> SegmentType:
    """The type EngageLab shows for a native condition: by campaign when every leaf tests a
    campaign (the flat form of type 1 says only those), else by field."""
    by_campaign = all(leaf.kind == campaign_leaf.KIND for leaf in leaves(tree))
    return SegmentType.BY_CAMPAIGN if by_campaign else SegmentType.BY_FIELD


def checked_definition(
    conn: Connection,
    tenant_id: int,
    draft: SegmentDraft,
    segment_type: SegmentType | None,
    tz: timezone,
    owner: SegmentOwner,
) -> tuple[dict[str, Any], SegmentType]:
    """The draft's condition validated against the tenant's catalog for ``owner`` (the
    segment it is saved for), in the stored form, and the segment's type (``segment_type``,
    or for a native draft the one its tree implies)."""
    catalog = load_catalog(conn, tenant_id)
    flat_type = SegmentType.BY_FIELD if segment_type is None else segment_type
    condition = parsed_condition(
        draft.condition, catalog, flat_type, tz, native=draft.native, owner=owner
    )
    if segment_type is None:
        segment_type = engagelab_type(condition)
    return dump_condition(condition), segment_type


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
