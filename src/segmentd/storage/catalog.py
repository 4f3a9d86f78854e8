"""Load what a tenant's conditions may refer to (fields, tags, campaigns) into a domain Catalog."""

from __future__ import annotations

import json

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Row

from ..domain.fields import CampaignStatus, Catalog, FieldDef, FieldType
from .schema import campaigns, fields, tags


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


def load_catalog(conn: Connection, tenant_id: int) -> Catalog:
    tag_names = conn.execute(sa.select(tags.c.name).where(tags.c.tenant_id == tenant_id)).scalars()
    statuses = conn.execute(
        sa.select(campaigns.c.id, campaigns.c.status).where(campaigns.c.tenant_id == tenant_id)
    )
    return Catalog.build(
        custom_fields(conn, tenant_id),
        tag_names,
        {row.id: CampaignStatus(row.status) for row in statuses},
    )
