"""What stored segment conditions refer to: the fields and tags they name.

Conditions are stored as their EngageLab JSON. Deleting a field or tag a segment uses is
refused (the segment could no longer be built), and renaming one rewrites the conditions so
the segment keeps working under the new name.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from ..domain.validation import CAMPAIGN_FIELD, TAG_FIELD
from .schema import segments

Leaf = dict[str, Any]


def _leaves(node: Any) -> Iterator[Leaf]:
    if not isinstance(node, dict):
        return
    items = node.get("items")
    if isinstance(items, list):
        for item in items:
            yield from _leaves(item)
    elif "field_name" in node:
        yield node


def _names_field(leaf: Leaf, key: str) -> bool:
    name = leaf.get("field_name")
    return (
        isinstance(name, str)
        and name not in (TAG_FIELD, CAMPAIGN_FIELD)
        and (name.casefold() == key)
    )


def _names_tag(leaf: Leaf, tag: str) -> bool:
    return leaf.get("field_name") == TAG_FIELD and leaf.get("value") == tag


def _segments_where(conn: Connection, tenant_id: int, test: Callable[[Leaf], bool]) -> list[Any]:
    rows = conn.execute(
        sa.select(segments.c.id, segments.c.name, segments.c.condition)
        .where(segments.c.tenant_id == tenant_id)
        .order_by(segments.c.name, segments.c.id)
    ).all()
    return [row for row in rows if any(test(leaf) for leaf in _leaves(_loads(row.condition)))]


def _loads(text: str) -> Any:
    try:
        return json.loads(text)
    except ValueError:
        return None


def segments_using_field(conn: Connection, tenant_id: int, field_name: str) -> list[str]:
    """Names of the segments whose condition tests ``field_name`` (any letter case)."""
    key = field_name.casefold()
    return [row.name for row in _segments_where(conn, tenant_id, lambda f: _names_field(f, key))]


def segments_using_tag(conn: Connection, tenant_id: int, tag: str) -> list[str]:
    return [row.name for row in _segments_where(conn, tenant_id, lambda f: _names_tag(f, tag))]


def _rewrite(conn: Connection, tenant_id: int, test: Callable[[Leaf], bool], change: Leaf) -> None:
    for row in _segments_where(conn, tenant_id, test):
        condition = json.loads(row.condition)
        for leaf in _leaves(condition):
            if test(leaf):
                leaf.update(change)
        conn.execute(
            sa.update(segments)
            .where(segments.c.tenant_id == tenant_id, segments.c.id == row.id)
            .values(condition=json.dumps(condition))
        )


def rename_field_in_segments(conn: Connection, tenant_id: int, old: str, new: str) -> None:
    key = old.casefold()
    _rewrite(conn, tenant_id, lambda f: _names_field(f, key), {"field_name": new})


def rename_tag_in_segments(conn: Connection, tenant_id: int, old: str, new: str) -> None:
    _rewrite(conn, tenant_id, lambda f: _names_tag(f, old), {"value": new})


def segments_using_values(
    conn: Connection, tenant_id: int, field_name: str, values: set[str]
) -> list[str]:
    """Names of the segments comparing ``field_name`` with one of ``values`` (dropdown options)."""
    key = field_name.casefold()
    return [
        row.name
        for row in _segments_where(
            conn, tenant_id, lambda f: _names_field(f, key) and f.get("value") in values
        )
    ]
