"""Tags: created by name when members first carry them; renamed and deleted through the API."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from ..domain.errors import DomainValidationError, InUse
from ..timefmt import now
from . import analytics_outbox
from .catalog import catalog_changed
from .schema import member_tags, tags
from .segment_refs import segments_using_tag
from .write_lock import lock_tenant_writes

MAX_TAG_LENGTH = 128
# A member's tags: every path that adds tags keeps to it (members API, CSV imports), so that
# tag segment builds stay fast (docs/ingestion.md).
MAX_TAGS_PER_MEMBER = 1000
TOO_MANY_TAGS = f"a member has at most {MAX_TAGS_PER_MEMBER} tags"
MAX_TAGS_PER_REQUEST = 10_000  # distinct tag names in one members request
_IN_SLICE = 500  # names per IN (...) list: SQLite caps bound parameters


@dataclass(frozen=True)
class Tag:
    id: int
    name: str
    member_count: int
    created_at: int


def tag_problem(name: object) -> str | None:
    """Why ``name`` cannot be a tag name, or None."""
    if not isinstance(name, str) or not name.strip() or len(name) > MAX_TAG_LENGTH or "\0" in name:
        return f"a tag name is a non-blank string of at most {MAX_TAG_LENGTH} characters"
    return None


def ensure_tags(conn: Connection, tenant_id: int, names: Iterable[str]) -> dict[str, int]:
    """Ids of the tags with these names, creating the missing ones. Caller holds the write lock."""
    wanted = set(names)
    if not wanted:
        return {}
    found = _ids_by_name(conn, tenant_id, wanted)
    missing = sorted(wanted - found.keys())
    if missing:
        created = now()
        conn.execute(
            sa.insert(tags),
            [{"tenant_id": tenant_id, "name": name, "created_at": created} for name in missing],
        )
        catalog_changed(conn, tenant_id)
        found = _ids_by_name(conn, tenant_id, wanted)
    return found


def _ids_by_name(conn: Connection, tenant_id: int, names: set[str]) -> dict[str, int]:
    ordered = sorted(names)
    found: dict[str, int] = {}
    for start in range(0, len(ordered), _IN_SLICE):
        rows = conn.execute(
            sa.select(tags.c.name, tags.c.id).where(
                tags.c.tenant_id == tenant_id, tags.c.name.in_(ordered[start : start + _IN_SLICE])
            )
        )
        found.update({row.name: int(row.id) for row in rows})
    return found


def _tag_query(tenant_id: int) -> sa.Select[tuple[int, str, int, int]]:
    count = (
        sa.select(sa.func.count())
        .where(member_tags.c.tenant_id == tenant_id, member_tags.c.tag_id == tags.c.id)
        .scalar_subquery()
    )
    return sa.select(tags.c.id, tags.c.name, count, tags.c.created_at).where(
        tags.c.tenant_id == tenant_id
    )


def _tag(row: Any) -> Tag:
    tag_id, name, member_count, created_at = row
    return Tag(int(tag_id), name, int(member_count), int(created_at))


def list_tags(conn: Connection, tenant_id: int, offset: int, limit: int) -> tuple[list[Tag], int]:
    """One page of the tenant's tags by name, with how many members carry each; and the total."""
    total = conn.execute(
        sa.select(sa.func.count()).select_from(tags).where(tags.c.tenant_id == tenant_id)
    ).scalar_one()
    rows = conn.execute(_tag_query(tenant_id).order_by(tags.c.name).offset(offset).limit(limit))
    return [_tag(row) for row in rows], int(total)


def get_tag(conn: Connection, tenant_id: int, tag_id: int) -> Tag | None:
    row = conn.execute(_tag_query(tenant_id).where(tags.c.id == tag_id)).first()
    return _tag(row) if row else None


def create_tag(conn: Connection, tenant_id: int, name: str) -> Tag:
    """A new tag on no member yet (members name it later; segments may test it now)."""
    lock_tenant_writes(conn, tenant_id)
    problem = tag_problem(name)
    if problem:
        raise DomainValidationError("tag_name", problem)
    if _ids_by_name(conn, tenant_id, {name}):
        raise DomainValidationError("tag_name", f"a tag named {name} already exists")
    created = get_tag(conn, tenant_id, ensure_tags(conn, tenant_id, [name])[name])
    assert created is not None  # just inserted, under the tenant's write lock
    return created


def rename_tag(conn: Connection, tenant_id: int, tag_id: int, name: str) -> Tag | None:
    """Rename a tag; the segments testing it name it by id, and keep testing it."""
    lock_tenant_writes(conn, tenant_id)
    problem = tag_problem(name)
    if problem:
        raise DomainValidationError("tag_name", problem)
    tag = get_tag(conn, tenant_id, tag_id)
    if tag is None or tag.name == name:
        return tag
    if _ids_by_name(conn, tenant_id, {name}):
        raise DomainValidationError("tag_name", f"a tag named {name} already exists")
    conn.execute(
        sa.update(tags).where(tags.c.tenant_id == tenant_id, tags.c.id == tag_id).values(name=name)
    )
    catalog_changed(conn, tenant_id)
    return get_tag(conn, tenant_id, tag_id)


def delete_tag(conn: Connection, tenant_id: int, tag_id: int) -> bool:
    """Delete a tag no segment tests, taking it off its members; False when there is none."""
    lock_tenant_writes(conn, tenant_id)
    tag = get_tag(conn, tenant_id, tag_id)
    if tag is None:
        return False
    users = segments_using_tag(conn, tenant_id, tag.id)
    if users:
        raise InUse("tag_id", f"tag {tag.name} is used by segments: {', '.join(users)}")
    holders = sa.select(member_tags.c.member_id).where(
        member_tags.c.tenant_id == tenant_id, member_tags.c.tag_id == tag_id
    )
    analytics_outbox.record_members_of(conn, tenant_id, holders)
    conn.execute(
        sa.delete(member_tags).where(
            member_tags.c.tenant_id == tenant_id, member_tags.c.tag_id == tag_id
        )
    )
    conn.execute(sa.delete(tags).where(tags.c.tenant_id == tenant_id, tags.c.id == tag_id))
    catalog_changed(conn, tenant_id)
    return True
