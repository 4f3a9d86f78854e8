"""Load what a tenant's conditions may refer to (fields, tags, campaigns, segments) into a
domain Catalog.

Every member change needs the catalog, and loading it costs four queries and a parse.
``tenants.catalog_version`` names one state of a tenant's catalog and of its segments'
definitions: every writer of fields, tags, campaigns or segments (created, renamed,
redefined, deleted) calls ``catalog_changed`` in its transaction, and a process keeps the
catalogs it loaded by (database, tenant, version), and what it parsed with them
(``realtime``). A version is a fresh random number, never a counter, so a change that rolls
back leaves a number nobody reuses.
"""

from __future__ import annotations

import json
import secrets

import sqlalchemy as sa
from sqlalchemy.engine import URL, Connection, Row

from ..domain.fields import CampaignStatus, Catalog, FieldDef, FieldType
from ..domain.segment_graph import SegmentNode
from ..domain.segment_kinds import SegmentKind
from .lru import LRU
from .schema import campaigns, fields, segments, tags, tenants
from .segment_refs import referenced_segments

_CACHE_SIZE = 256


def field_def(row: Row[tuple]) -> FieldDef:
    m = row._mapping
    return FieldDef(
        name=m["name"],
        type=FieldType(m["field_type"]),
        format=m["format"],
        options=tuple(json.loads(m["options"])) if m["options"] else (),
        slot=m["slot"],
        visible=bool(m["visible"]),
        id=m["id"],
    )


def custom_fields(conn: Connection, tenant_id: int) -> list[FieldDef]:
    rows = conn.execute(
        sa.select(fields).where(fields.c.tenant_id == tenant_id).order_by(fields.c.id)
    )
    return [field_def(row) for row in rows]


def new_catalog_version() -> int:
    return secrets.randbits(62) + 1


def catalog_changed(conn: Connection, tenant_id: int) -> None:
    """Call in every transaction that changes the tenant's fields, tags, campaigns, or which
    segments it has, their names and their conditions (after ``lock_tenant_writes``)."""
    conn.execute(
        sa.update(tenants)
        .where(tenants.c.id == tenant_id)
        .values(catalog_version=new_catalog_version())
    )


_VERSION = sa.select(tenants.c.catalog_version).where(tenants.c.id == sa.bindparam("tenant_id"))


# The catalogs this process loaded, by (database, tenant, version).
_catalogs: LRU[tuple[URL, int, int], Catalog] = LRU(_CACHE_SIZE)


def load_catalog(conn: Connection, tenant_id: int, version: int | None = None) -> Catalog:
    """The tenant's catalog as this transaction sees it. ``version``: its catalog version, if
    the caller read it in this transaction (``lock_tenant_writes`` does)."""
    if version is None:
        version = conn.execute(_VERSION, {"tenant_id": tenant_id}).scalar()
    if not version:  # no such tenant, or one written without a version: nothing to cache
        return _read_catalog(conn, tenant_id)
    key = (conn.engine.url, tenant_id, int(version))  # a URL compares by its parts
    found = _catalogs.get(key)
    if found is None:
        found = _read_catalog(conn, tenant_id)
        _catalogs.put(key, found)
    return found


def _read_catalog(conn: Connection, tenant_id: int) -> Catalog:
    tag_names = conn.execute(sa.select(tags.c.id, tags.c.name).where(tags.c.tenant_id == tenant_id))
    statuses = conn.execute(
        sa.select(campaigns.c.id, campaigns.c.status).where(campaigns.c.tenant_id == tenant_id)
    )
    return Catalog.build(
        custom_fields(conn, tenant_id),
        {row.id: row.name for row in tag_names},
        {row.id: CampaignStatus(row.status) for row in statuses},
        segment_nodes(conn, tenant_id),
    )


def segment_nodes(conn: Connection, tenant_id: int) -> dict[str, SegmentNode]:
    """The tenant's segments as references see them (``domain.segment_graph``)."""
    s = segments.c
    rows = conn.execute(
        sa.select(s.id, s.name, s.list_id, s.kind, s.condition).where(s.tenant_id == tenant_id)
    )
    return {
        row.id: SegmentNode(
            name=row.name,
            list_id=int(row.list_id),
            static=row.kind == SegmentKind.STATIC,
            refs=referenced_segments(row.condition),
        )
        for row in rows
    }
