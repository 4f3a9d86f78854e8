"""A tenant built once on the analytics back-end, then a few members changed in every way
the outbox records (upsert, tags, delete, unsubscribe, campaign activity): what the next sync
must apply, and only that. Shared by the embedded and the cluster tests."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC
from typing import Any

import sqlalchemy as sa

from segmentd.analytics.clickhouse_schema import CAMPAIGN_ACTIVITY
from segmentd.analytics.clickhouse_schema import MEMBERS as MEMBER_TABLE
from segmentd.domain.fields import CampaignStatus
from segmentd.jobs.analytics_source import Synced, analytics_source
from segmentd.jobs.build_queue import enqueue_build
from segmentd.jobs.build_worker import run_pending
from segmentd.services.member_service import delete_members
from segmentd.services.member_service import unsubscribe as unsubscribe_members
from segmentd.services.segment_service import insert_segment
from segmentd.settings import Settings
from segmentd.storage import analytics_outbox as outbox
from segmentd.storage.campaigns import create_campaign, record_events
from segmentd.storage.db import Database
from segmentd.storage.members import TagFlag, upsert_members
from segmentd.storage.schema import members
from segmentd.storage.tenants import create_tenant, default_list_id
from tests.support.analytics_world import published, sql_selected
from tests.support.stored_conditions import stored_native

MEMBERS = 40


@dataclass(frozen=True)
class World:
    tenant_id: int
    list_id: int
    campaign_id: int
    segment_id: str


def email(i: int) -> str:
    return f"m{i}@example.com"


def condition(campaign_id: int) -> dict[str, Any]:
    """Name, tag, campaign activity or unsubscribed (native form): each change below moves a
    member in or out."""
    return {
        "any": [
            {"kind": "field", "field": "Name", "op": "contain", "value": "an"},
            {"kind": "tag", "tag": "vip", "op": "=="},
            {"kind": "campaign", "campaign": campaign_id, "activity": "open"},
            {"kind": "subscription", "status": "unsubscribed"},
        ]
    }


def seed(db: Database) -> World:
    """40 members (every fifth a vip, a few named with "an"), half sent a campaign, a
    quarter opened it; a segment on the condition above."""
    with db.write() as conn:
        tenant_id = create_tenant(conn, "acme")
        list_id = default_list_id(conn, tenant_id)
        assert list_id is not None
        campaign_id = create_campaign(conn, tenant_id, "c", CampaignStatus.COMPLETED, list_id).id
        rows = [
            {"email": email(i), "name": ("Dan" if i % 7 == 0 else "Bob"),
             "tags": ["vip"] if i % 5 == 0 else ["news"]}
            for i in range(MEMBERS)
        ]  # fmt: skip
        upsert_members(
            conn, tenant_id, None, rows, update_existing=True, tag_flag=TagFlag.OVERWRITE
        )
        events = [{"email": email(i), "event": "sent"} for i in range(0, MEMBERS, 2)]
        events += [{"email": email(i), "event": "open"} for i in range(0, MEMBERS, 4)]
        record_events(conn, tenant_id, campaign_id, events, UTC)
    with db.write() as conn:
        stored = stored_native(conn, tenant_id, condition(campaign_id))
        segment_id = insert_segment(
            conn, tenant_id, list_id=list_id, name="mixed", segment_type=0, condition=stored
        )
    return World(tenant_id, list_id, campaign_id, segment_id)


def change_a_few(db: Database, world: World) -> int:
    """Six members changed, one way each; the outbox rows they leave."""
    t = world.tenant_id
    with db.write() as conn:
        renamed_and_tagged = [
            {"email": email(1), "name": "Anna"},
            {"email": email(3), "tags": ["vip"]},
        ]
        upsert_members(
            conn, t, None, renamed_and_tagged, update_existing=True, tag_flag=TagFlag.APPEND
        )
        upsert_members(  # the vip tag taken away
            conn, t, None, [{"email": email(5), "tags": ["news"]}],
            update_existing=True, tag_flag=TagFlag.OVERWRITE,
        )  # fmt: skip
        unsubscribe_members(conn, t, world.list_id, [email(9)], UTC)
        record_events(conn, t, world.campaign_id, [{"email": email(11), "event": "open"}], UTC)
        gone = conn.execute(
            sa.select(members.c.id).where(members.c.tenant_id == t, members.c.email_key == email(8))
        ).scalar_one()
        delete_members(conn, t, [int(gone)])
    with db.read() as conn:
        return len(outbox.seqs_of(conn, t))


def rebuilt_after_a_few_changes(db: Database, settings: Settings, world: World) -> Synced:
    """Build ``world`` once (a full load), change a few members, rebuild: the second sync
    applied exactly their outbox rows (five members, two activity rows written) and the
    rebuild published what the SQL compiler selects. The second sync."""
    assert run_pending(db, settings) == 1
    source = analytics_source(settings.analytics)
    assert source is not None
    first = source.last_synced(world.tenant_id)
    assert first is not None and first.full_load  # never loaded: loaded whole
    waiting = change_a_few(db, world)
    with db.write() as conn:
        enqueue_build(conn, world.tenant_id, world.segment_id)
    assert run_pending(db, settings) == 1
    second = source.last_synced(world.tenant_id)
    assert second is not None and not second.full_load
    assert second.applied.outbox_rows == waiting
    # Five members named (renamed, tagged, untagged, unsubscribed, deleted), one activity
    # row recorded and the deleted member's one activity row buried: nothing else written.
    assert second.applied.written[MEMBER_TABLE] == 5
    assert second.applied.written[CAMPAIGN_ACTIVITY] == 2
    assert published(db, world.tenant_id, world.segment_id) == sql_selected(
        db, world.tenant_id, world.segment_id
    )
    return second
