"""What stored segment conditions refer to: the fields, tags, campaigns and dropdown values
they test, the segments whose membership they read, and which read every campaign's activity.

Conditions name fields, tags, campaigns and segments by key and id (``domain.stored_form``), so
a rename leaves them as they are. Deleting a field, tag or campaign a segment uses is refused
(the segment could no longer be built), and so is dropping a dropdown option a segment tests; the
references between segments are the catalog's (``catalog``, ``domain.segment_graph``).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from ..domain.condition_types import (
    campaign_leaf,
    engagement_leaf,
    field_leaf,
    last_activity_leaf,
    segment_leaf,
    tag_leaf,
    tag_set_leaf,
)
from ..domain.fields import FieldDef
from ..domain.segment_kinds import SegmentKind
from ..domain.stored_form import stored_leaves
from .schema import segments

Leaf = Mapping[str, Any]


def _segments_where(conn: Connection, tenant_id: int, test: Callable[[Leaf], bool]) -> list[str]:
    """Names of the tenant's segments with a leaf that passes ``test``, by name."""
    rows = conn.execute(
        sa.select(segments.c.name, segments.c.condition)
        .where(segments.c.tenant_id == tenant_id)
        .order_by(segments.c.name, segments.c.id)
    ).all()
    return [row.name for row in rows if any(test(leaf) for leaf in stored_leaves(row.condition))]


def _tests_field(leaf: Leaf, key: str) -> bool:
    return leaf.get("kind") == field_leaf.KIND and leaf.get("field") == key


def segments_using_field(conn: Connection, tenant_id: int, field: FieldDef) -> list[str]:
    """Names of the segments whose condition tests ``field``."""
    key = field_leaf.stored_key(field)
    return _segments_where(conn, tenant_id, lambda leaf: _tests_field(leaf, key))


def segments_using_tag(conn: Connection, tenant_id: int, tag_id: int) -> list[str]:
    return _segments_where(conn, tenant_id, lambda leaf: _tests_tag(leaf, tag_id))


def _tests_tag(leaf: Leaf, tag_id: int) -> bool:
    if leaf.get("kind") == tag_set_leaf.KIND:
        return tag_id in _listed(leaf, "tags")
    return leaf.get("kind") == tag_leaf.KIND and leaf.get("tag") == tag_id


def segments_using_campaign(conn: Connection, tenant_id: int, campaign_id: int) -> list[str]:
    """Names of the segments whose condition tests the activity of campaign ``campaign_id``."""
    return _segments_where(
        conn,
        tenant_id,
        lambda leaf: leaf.get("kind") == campaign_leaf.KIND and leaf.get("campaign") == campaign_id,
    )


_ACROSS_CAMPAIGNS = frozenset({engagement_leaf.KIND, last_activity_leaf.KIND})


def segments_counting_activity(conn: Connection, tenant_id: int, list_id: int) -> list[str]:
    """Ids of the list's dynamic segments whose condition reads the activity of every
    campaign (engagement counts, recency): deleting a campaign's activity can move their
    members."""
    s = segments.c
    rows = conn.execute(
        sa.select(s.id, s.condition)
        .where(s.tenant_id == tenant_id, s.list_id == list_id, s.kind == SegmentKind.DYNAMIC)
        .order_by(s.id)
    ).all()
    return [
        row.id
        for row in rows
        if any(leaf.get("kind") in _ACROSS_CAMPAIGNS for leaf in stored_leaves(row.condition))
    ]


def segments_using_values(
    conn: Connection, tenant_id: int, field: FieldDef, values: set[str]
) -> list[str]:
    """Names of the segments comparing ``field`` with one of ``values`` (dropdown options)."""
    key = field_leaf.stored_key(field)
    return _segments_where(
        conn, tenant_id, lambda leaf: _tests_field(leaf, key) and _compares_with(leaf, values)
    )


def _compares_with(leaf: Leaf, values: set[str]) -> bool:
    """Whether the leaf's value, or one of its values (in, not_in), is among ``values``."""
    return leaf.get("value") in values or not values.isdisjoint(_listed(leaf, "values"))


def _listed(leaf: Leaf, key: str) -> list[Any]:
    found = leaf.get(key)
    return (
        [item for item in found if isinstance(item, (int, str))] if isinstance(found, list) else []
    )


def referenced_segments(condition: str | Mapping[str, Any]) -> frozenset[str]:
    """Ids of the segments a stored condition tests membership of."""
    return frozenset(
        str(leaf["segment"])
        for leaf in stored_leaves(condition)
        if leaf.get("kind") == segment_leaf.KIND and isinstance(leaf.get("segment"), str)
    )
