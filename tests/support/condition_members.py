"""Members and a catalog for the tests that hold the SQL compiler and the evaluator together
(tests/storage/test_condition_agreement.py, test_native_agreement.py): a member as the
test generates it, the contact the evaluator sees, and the rows storage keeps."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa

from segmentd.domain.contact import CampaignActivity, Contact
from segmentd.domain.emails import email_domain, email_key
from segmentd.domain.fields import CampaignStatus, FieldDef, FieldType
from segmentd.storage import schema
from segmentd.storage.catalog import catalog_changed
from segmentd.storage.db import Database
from segmentd.storage.member_columns import field_column
from tests.conftest import Tenant

CUSTOM = (
    FieldDef("Age", FieldType.NUMBER, format="0", slot=1, id=1),
    FieldDef("City", FieldType.TEXT, slot=2, id=2),
    FieldDef("Plan", FieldType.DROPDOWN, options=("Free", "Pro", "pro"), slot=3, id=3),
    FieldDef("Signup", FieldType.DATE, format="DD/MM/YYYY", slot=4, id=4),
    FieldDef("Birthday", FieldType.BIRTHDAY, format="MM/DD", slot=5, id=5),
)
TAGS = ("vip", "VIP", "news")
CAMPAIGNS = {1: CampaignStatus.SENDING, 2: CampaignStatus.COMPLETED}
# Campaign ids are global: each tenant's test campaigns are numbered apart.
CAMPAIGN_SPACING = 1000


def campaign_offset(tenant: Tenant) -> int:
    return CAMPAIGN_SPACING * tenant.id


@dataclass(frozen=True)
class Member:
    email: str
    name: str | None
    values: dict[str, Any]  # typed values of the custom fields, by field name
    created_at: int
    updated_at: int
    unsubscribed_at: int | None
    tags: frozenset[str]
    campaigns: dict[int, CampaignActivity]  # by campaign number in CAMPAIGNS

    def contact(self, offset: int = 0) -> Contact:
        """The member as the evaluator sees it, campaigns numbered from ``offset``."""
        values: dict[str, Any] = {f.key: self.values.get(f.name) for f in CUSTOM}
        values.update(
            email=self.email,
            name=self.name,
            phone=None,
            domain=email_domain(self.email),
            createtime=self.created_at,
            updatetime=self.updated_at,
            unsubscribetime=self.unsubscribed_at,
        )
        campaigns = {offset + number: activity for number, activity in self.campaigns.items()}
        return Contact(values, self.tags, campaigns)


def store_members(db: Database, tenant: Tenant, members: list[Member], now: int) -> dict[str, int]:
    """Replace the tenant's fields, tags, campaigns and members with these; their ids by
    email. Campaigns are numbered from ``campaign_offset(tenant)``."""
    with db.write() as conn:
        for table in (
            schema.campaign_activity,
            schema.member_tags,
            schema.members,
            schema.tags,
            schema.fields,
            schema.campaigns,
        ):
            conn.execute(sa.delete(table).where(table.c.tenant_id == tenant.id))
        for field in CUSTOM:
            conn.execute(
                sa.insert(schema.fields).values(
                    tenant_id=tenant.id,
                    name=field.name,
                    name_key=field.key,
                    field_type=int(field.type),
                    format=field.format,
                    options=json.dumps(field.options) if field.options else None,
                    visible=True,
                    slot=field.slot,
                    created_at=now,
                )
            )
        tag_ids = {
            name: conn.execute(
                sa.insert(schema.tags)
                .values(tenant_id=tenant.id, name=name, created_at=now)
                .returning(schema.tags.c.id)
            ).scalar_one()
            for name in TAGS
        }
        for number, status in CAMPAIGNS.items():
            conn.execute(
                sa.insert(schema.campaigns).values(
                    id=campaign_offset(tenant) + number,
                    tenant_id=tenant.id,
                    name=f"c{number}",
                    status=str(status),
                    created_at=now,
                    updated_at=now,
                )
            )
        catalog_changed(conn, tenant.id)  # as the storage functions do
        ids = {}
        for member in members:
            row: dict[str, Any] = {
                "tenant_id": tenant.id,
                "list_id": 1,
                "email": member.email,
                "email_key": email_key(member.email),
                "domain": email_domain(member.email),
                "name": member.name,
                "created_at": member.created_at,
                "updated_at": member.updated_at,
                "unsubscribed_at": member.unsubscribed_at,
            }
            for field in CUSTOM:
                row[field_column(field).name] = member.values.get(field.name)
            member_id = conn.execute(
                sa.insert(schema.members).values(row).returning(schema.members.c.id)
            ).scalar_one()
            ids[member.email] = member_id
            for tag in member.tags:
                conn.execute(
                    sa.insert(schema.member_tags).values(
                        tenant_id=tenant.id, member_id=member_id, tag_id=tag_ids[tag]
                    )
                )
            for number, activity in member.campaigns.items():
                conn.execute(
                    sa.insert(schema.campaign_activity).values(
                        tenant_id=tenant.id,
                        campaign_id=campaign_offset(tenant) + number,
                        member_id=member_id,
                        sent_at=activity.sent_at,
                        opened_at=activity.opened_at,
                        clicked_at=activity.clicked_at,
                    )
                )
    return ids
