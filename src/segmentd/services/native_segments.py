"""Segments written in the native form (segmentd's own API and the UI): create, redefine,
count. The one way a native condition is checked and saved.

A native tree is checked for the segment it is saved for (``native_conditions``), its type
for EngageLab follows from it (``engagelab_type``), and a name may name one segment of the
tenant only (``Taken``). Static segments' own use cases: ``static_segments``.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timezone
from typing import Any

from sqlalchemy.engine import Connection

from ..domain.condition_types import campaign_leaf
from ..domain.conditions import Group, leaves
from ..domain.errors import DomainValidationError, NotFound
from ..domain.segment_graph import SegmentOwner
from ..domain.segment_kinds import SegmentKind
from ..domain.stored_form import dump_condition
from ..domain.validation import SegmentType
from ..storage import segments as store
from ..storage.db import Database
from ..storage.write_lock import lock_tenant_writes
from .native_conditions import count_tree, parsed_native_condition
from .segment_rules import (
    MAX_NAME_LENGTH,
    check_name_free,
    checked_commandersact_id,
    checked_list,
    checked_name,
)
from .segment_service import insert_segment, redefine_segment

KEEP: Any = object()  # a field of a change left as it is


@dataclass(frozen=True)
class NativeDraft:
    """A computed segment as the client sent it, unchecked (``list_id`` None: the default)."""

    name: Any = None
    condition: Any = None
    list_id: Any = None
    commandersact_id: Any = None


@dataclass(frozen=True)
class NativeChange:
    """What to change of a segment; ``KEEP`` leaves a part as it is."""

    name: Any = KEEP
    condition: Any = KEEP
    commandersact_id: Any = KEEP


def create_native_segment(
    db: Database, tenant_id: int, draft: NativeDraft, tz: timezone, *, unique_name: bool = True
) -> store.Segment:
    """Check and save a computed segment, and queue its first build (status building).
    ``unique_name``: refuse a name another segment has (the UI, as EngageLab, allows it)."""
    name = checked_name(draft.name)
    commandersact_id = checked_commandersact_id(draft.commandersact_id)
    with db.write() as conn:
        lock_tenant_writes(conn, tenant_id)  # the catalog must not change under the check
        list_id = checked_list(conn, tenant_id, draft.list_id)
        if unique_name:
            check_name_free(conn, tenant_id, name, None)
        tree = parsed_native_condition(
            conn, tenant_id, draft.condition, tz, SegmentOwner(None, name, list_id)
        )
        segment_id = insert_segment(
            conn,
            tenant_id,
            list_id=list_id,
            name=name,
            segment_type=engagelab_type(tree),
            condition=tree_stored(tree),
            commandersact_id=commandersact_id,
        )
        return found(store.get_segment(conn, tenant_id, segment_id))


def change_native_segment(
    db: Database,
    tenant_id: int,
    segment_id: str,
    change: NativeChange,
    tz: timezone,
    *,
    unique_name: bool = True,
) -> store.Segment:
    """Change a segment's name, condition (queues a rebuild; the previous membership stays
    readable meanwhile) or Commanders Act id. A static segment has no condition to change."""
    name = KEEP if change.name is KEEP else checked_name(change.name)
    cid = change.commandersact_id
    commandersact_id = KEEP if cid is KEEP else checked_commandersact_id(cid)
    with db.write() as conn:
        lock_tenant_writes(conn, tenant_id)
        segment = found(store.get_segment(conn, tenant_id, segment_id, for_update=True))
        if name is not KEEP and unique_name:
            check_name_free(conn, tenant_id, name, segment.id)
        if commandersact_id is not KEEP:
            _set_commandersact_id(conn, segment, commandersact_id)
        new_name = segment.name if name is KEEP else name
        if change.condition is not KEEP:
            _redefine(conn, segment, new_name, change.condition, tz)
        elif name is not KEEP:
            store.rename_segment(conn, tenant_id, segment.id, new_name)
        return found(store.get_segment(conn, tenant_id, segment.id))


def clone_segment(db: Database, tenant_id: int, segment_id: str, name: str) -> store.Segment:
    """A new computed segment with the condition of ``segment_id`` (its first build queued);
    ``name`` is cut to the longest name allowed. A static segment has no condition to copy."""
    name = checked_name(name[:MAX_NAME_LENGTH])
    with db.write() as conn:
        lock_tenant_writes(conn, tenant_id)
        source = found(store.get_segment(conn, tenant_id, segment_id))
        if source.kind is SegmentKind.STATIC:
            message = f"segment {source.name} is static: it has no condition to copy"
            raise DomainValidationError("segment_id", message)
        new_id = insert_segment(
            conn,
            tenant_id,
            list_id=source.list_id,
            name=name,
            segment_type=source.segment_type,
            condition=source.condition,  # checked when it was saved, and kept in stored form
        )
        return found(store.get_segment(conn, tenant_id, new_id))


def _redefine(conn: Connection, segment: store.Segment, name: str, raw: Any, tz: timezone) -> None:
    if segment.kind is SegmentKind.STATIC:
        message = f"segment {segment.name} is static: its members are given, not a condition"
        raise DomainValidationError("condition", message)
    owner = SegmentOwner(segment.id, name, segment.list_id)
    tree = parsed_native_condition(conn, segment.tenant_id, raw, tz, owner)
    redefine_segment(
        conn,
        segment.tenant_id,
        segment.id,
        name=name,
        segment_type=engagelab_type(tree),
        condition=tree_stored(tree),
    )


def _set_commandersact_id(conn: Connection, segment: store.Segment, wanted: str | None) -> None:
    """A new Commanders Act id (None: a fresh random one)."""
    if wanted == segment.commandersact_id:
        return
    if not store.set_commandersact_id(conn, segment.tenant_id, segment.id, wanted):
        message = f"commandersact_id {wanted} is taken by another segment"
        raise DomainValidationError("commandersact_id", message)


def count_native(db: Database, tenant_id: int, raw_list_id: Any, raw: Any, tz: timezone) -> int:
    """How many members of the list (None: the default one) a native tree selects now;
    checked as on creation, saves nothing."""
    with db.snapshot() as conn:  # its range statements must read one state (condition_counts)
        list_id = checked_list(conn, tenant_id, raw_list_id)
        return count_native_in(conn, tenant_id, list_id, raw, tz)


def count_native_in(
    conn: Connection,
    tenant_id: int,
    list_id: int,
    raw: Any,
    tz: timezone,
    editing: store.Segment | None = None,
) -> int:
    """``count_native`` in the caller's transaction. ``editing``: the segment whose condition
    this would become (its references are checked for it, its members removed by hand
    stay out): what its build would publish."""
    name = editing.name if editing is not None else ""
    owner = SegmentOwner(editing.id if editing else None, name, list_id)
    tree = parsed_native_condition(conn, tenant_id, raw, tz, owner)
    return count_tree(conn, tenant_id, list_id, tree, editing.id if editing else None)


def engagelab_type(tree: Group) -> SegmentType:
    """The type EngageLab shows for a native condition: by campaign when every leaf tests a
    campaign (the flat form of type 1 says only those), else by field."""
    by_campaign = all(leaf.kind == campaign_leaf.KIND for leaf in leaves(tree))
    return SegmentType.BY_CAMPAIGN if by_campaign else SegmentType.BY_FIELD


def tree_stored(tree: Group) -> dict[str, Any]:
    return dump_condition(tree)


def found(segment: store.Segment | None) -> store.Segment:
    if segment is None:
        raise NotFound("segment")
    return segment
