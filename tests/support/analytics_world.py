"""A tenant's members written through storage (so through the outbox), segments created
through the service, and what they publish against what the SQL compiler selects: the end to
end tests of builds on the analytics back-end (embedded and cluster)."""

from __future__ import annotations

from datetime import UTC
from typing import Any

import sqlalchemy as sa

from segmentd.domain.stored_form import load_condition
from segmentd.membership import store
from segmentd.services.segment_service import insert_segment
from segmentd.storage.catalog import load_catalog
from segmentd.storage.compiler import compile_condition
from segmentd.storage.db import Database
from segmentd.storage.members import TagFlag, upsert_members
from segmentd.storage.schema import members
from segmentd.storage.segments import get_segment
from segmentd.storage.tenants import create_tenant, default_list_id
from tests.support.stored_conditions import stored_condition

NAMES = ("Ann", "Dan", "Lea", "Jan", "Bob", "Anna", "Ivan", "Eve")


def name_has(text: str) -> dict[str, Any]:
    return {"relation": "and", "items": [{"field_name": "Name", "op": "contain", "value": text}]}


def write_members(db: Database, tenant_id: int, names: dict[str, str]) -> None:
    rows = [{"email": email, "name": name} for email, name in names.items()]
    with db.write() as conn:
        upsert_members(
            conn, tenant_id, None, rows, update_existing=True, tag_flag=TagFlag.OVERWRITE
        )


def named_world(db: Database) -> tuple[int, str]:
    """A tenant "acme" whose members bear ``NAMES`` (``m<i>@example.com``) and a segment "an"
    of the names holding "an", not built yet: (tenant id, segment id)."""
    with db.write() as conn:
        tenant_id = create_tenant(conn, "acme")
    write_members(db, tenant_id, {f"m{i}@example.com": n for i, n in enumerate(NAMES)})
    return tenant_id, add_segment(db, tenant_id, "an", name_has("an"))


def published(db: Database, tenant_id: int, segment_id: str) -> set[int]:
    with db.snapshot() as conn:
        segment = get_segment(conn, tenant_id, segment_id)
        assert segment is not None
        return {m for batch in store().member_ids(conn, segment, 1000) for m in batch}


def sql_selected(db: Database, tenant_id: int, segment_id: str) -> set[int]:
    """What the SQL compiler selects on the system of record."""
    with db.read() as conn:
        segment = get_segment(conn, tenant_id, segment_id)
        assert segment is not None
        condition = load_condition(segment.condition, load_catalog(conn, tenant_id), UTC)
        where = compile_condition(
            condition, tenant_id=tenant_id, segments=store().published_sql(conn, tenant_id)
        )
        query = sa.select(members.c.id).where(
            members.c.tenant_id == tenant_id, members.c.list_id == segment.list_id, where
        )
        return {int(m) for m in conn.execute(query).scalars()}


def add_segment(db: Database, tenant_id: int, name: str, condition: dict[str, Any]) -> str:
    with db.write() as conn:
        list_id = default_list_id(conn, tenant_id)
        assert list_id is not None
        stored = stored_condition(conn, tenant_id, condition)
        return insert_segment(
            conn, tenant_id, list_id=list_id, name=name, segment_type=0, condition=stored
        )
