"""Fetch whole members (system fields, custom field values, tags) for display, in a given order."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from ..domain.fields import FieldDef
from ..domain.values import Typed
from .member_columns import field_column
from .schema import member_tags, members, tags
from .sqlite_plans import members_by_id


@dataclass(frozen=True)
class MemberRow:
    """One member as the APIs show it. ``values`` pairs every custom field with its typed value."""

    id: int
    list_id: int
    email: str
    name: str | None
    phone: str | None
    created_at: int
    updated_at: int
    unsubscribed_at: int | None
    values: tuple[tuple[FieldDef, Typed | None], ...]
    tag_ids: tuple[int, ...]
    tag_names: tuple[str, ...]


def fetch_members(
    conn: Connection, tenant_id: int, member_ids: Sequence[int], fields: Sequence[FieldDef]
) -> list[MemberRow]:
    """The members with these ids, in the order given; ids of no member of the tenant are skipped.

    ``fields`` are the tenant's custom fields (``storage.catalog.custom_fields``).
    """
    if not member_ids:
        return []
    rows = conn.execute(sa.select(members).where(members_by_id(tenant_id, list(member_ids)))).all()
    by_id = {row.id: row for row in rows}
    member_tag_rows = _tags(conn, tenant_id, list(by_id))
    found = [by_id[member_id] for member_id in member_ids if member_id in by_id]
    return [_member(row, fields, member_tag_rows[row.id]) for row in found]


def _member(row: sa.Row, fields: Sequence[FieldDef], tag_rows: list[tuple[int, str]]) -> MemberRow:
    m = row._mapping
    return MemberRow(
        id=m["id"],
        list_id=m["list_id"],
        email=m["email"],
        name=m["name"],
        phone=m["phone"],
        created_at=m["created_at"],
        updated_at=m["updated_at"],
        unsubscribed_at=m["unsubscribed_at"],
        values=tuple((field, m[field_column(field)]) for field in fields),
        tag_ids=tuple(tag_id for tag_id, _ in tag_rows),
        tag_names=tuple(name for _, name in tag_rows),
    )


def _tags(conn: Connection, tenant_id: int, ids: list[int]) -> dict[int, list[tuple[int, str]]]:
    """(tag id, tag name) per member, ordered by tag id."""
    result: dict[int, list[tuple[int, str]]] = defaultdict(list)
    if not ids:
        return result
    rows = conn.execute(
        sa.select(member_tags.c.member_id, tags.c.id, tags.c.name)
        .join(
            tags,
            sa.and_(tags.c.tenant_id == member_tags.c.tenant_id, tags.c.id == member_tags.c.tag_id),
        )
        .where(member_tags.c.tenant_id == tenant_id, member_tags.c.member_id.in_(ids))
        .order_by(member_tags.c.member_id, tags.c.id)
    )
    for member_id, tag_id, name in rows:
        result[member_id].append((tag_id, name))
    return result
