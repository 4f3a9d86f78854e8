"""Conditions in the native form (segmentd's own API, the UI): checked for the segment they
are saved for, and counted.

A native condition may refer to other segments; the rules of references (same list, no
cycle, at most ``domain.segment_graph.MAX_REFERENCE_DEPTH`` links) are checked against the
segment it is saved for, with the path of the offending leaf. Counting compiles the tree
with the membership's reader of published generations, which segment leaves need.
"""

from __future__ import annotations

from datetime import timezone
from typing import Any

from sqlalchemy.engine import Connection

from ..domain.conditions import Condition, Group
from ..domain.errors import DomainValidationError
from ..domain.native_form import parse_native
from ..domain.segment_graph import SegmentOwner
from ..domain.stored_form import dump_condition
from ..storage.catalog import load_catalog
from .condition_counts import count_selected


def parsed_native_condition(
    conn: Connection, tenant_id: int, raw: Any, tz: timezone, owner: SegmentOwner
) -> Group:
    """Validate a native tree for ``owner`` (its id, None for a new segment; its name as
    saved; its list) against the tenant's catalog; return it typed. To save it, call after
    ``lock_tenant_writes``: the catalog and the references must not change under the check."""
    if raw is None:
        raise DomainValidationError("condition", "condition is required")
    return parse_native(raw, load_catalog(conn, tenant_id), tz, owner=owner)


def checked_native_condition(
    conn: Connection, tenant_id: int, raw: Any, tz: timezone, owner: SegmentOwner
) -> dict[str, Any]:
    """``parsed_native_condition`` in the stored form."""
    return dump_condition(parsed_native_condition(conn, tenant_id, raw, tz, owner))


def count_tree(
    conn: Connection,
    tenant_id: int,
    list_id: int,
    condition: Condition,
    excluded_by: str | None = None,
) -> int:
    """How many members of the list a typed condition selects now (segment leaves read the
    published memberships as ``conn`` sees them), less the exclusions of ``excluded_by``."""
    return count_selected(conn, tenant_id, list_id, condition, excluded_by)
