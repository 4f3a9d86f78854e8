"""A tenant's members, tags and activity written through storage (so through the outbox),
and the comparison of the system of record with the cluster's live rows."""

from __future__ import annotations

import uuid
from datetime import UTC
from typing import Any

import sqlalchemy as sa

from segmentd.analytics_cluster.shard_client import ClusterClient, ShardAddress
from segmentd.analytics_cluster.sharded_tables import (
    CAMPAIGN_ACTIVITY,
    COLUMNS,
    MEMBER_TAGS,
    MEMBERS,
    create_tables,
    current,
)
from segmentd.domain.fields import CampaignStatus
from segmentd.storage.campaigns import create_campaign, record_events
from segmentd.storage.db import Database
from segmentd.storage.members import TagFlag, delete_members, unsubscribe, upsert_members
from segmentd.storage.schema import campaign_activity, member_tags, members
from segmentd.storage.tenants import create_tenant, default_list_id
from tests.support.clickhouse_cluster import CLUSTER, ClickHouseCluster

EVENTS = ("sent", "open", "click")


def cluster_client(cluster: ClickHouseCluster) -> ClusterClient:
    """A client on a database of its own (tests share the servers)."""
    shards = [ShardAddress("127.0.0.1", s.ports.tcp) for s in cluster.shards]
    client = ClusterClient(CLUSTER, shards, database=f"t_{uuid.uuid4().hex[:12]}")
    create_tables(client)
    return client


def fill(db: Database, members_count: int, name: str = "acme") -> int:
    """A tenant whose members change in every way the outbox records: created, updated (tags
    replaced), unsubscribed, events in two campaigns, some deleted. The tenant's id."""
    with db.write() as conn:
        tenant_id = create_tenant(conn, name)
        list_id = default_list_id(conn, tenant_id)
        assert list_id is not None
        campaigns = [
            create_campaign(conn, tenant_id, f"c{i}", CampaignStatus.COMPLETED, list_id).id
            for i in range(2)
        ]
    emails = [f"m{i}@example.com" for i in range(members_count)]
    for start in range(0, members_count, 25):
        rows = [
            {"email": e, "name": f"n{i}", "tags": [f"t{i % 3}", f"u{i % 5}"]}
            for i, e in enumerate(emails[start : start + 25], start)
        ]
        with db.write() as conn:
            upsert_members(
                conn, tenant_id, None, rows, update_existing=True, tag_flag=TagFlag.OVERWRITE
            )
    with db.write() as conn:
        changed = [{"email": e, "tags": ["t9"]} for e in emails[::4]]
        upsert_members(
            conn, tenant_id, None, changed, update_existing=True, tag_flag=TagFlag.OVERWRITE
        )
        unsubscribe(conn, tenant_id, list_id, emails[1::6])
        for i, campaign_id in enumerate(campaigns):
            raw = [{"email": e, "event": EVENTS[(j + i) % 3]} for j, e in enumerate(emails[::2])]
            record_events(conn, tenant_id, campaign_id, raw, UTC)
    with db.write() as conn:
        gone = list(conn.execute(sa.select(members.c.id).where(members.c.tenant_id == tenant_id)))
        delete_members(conn, tenant_id, [int(row[0]) for row in gone[::7]])
    return tenant_id


def of_record(db: Database, tenant_id: int) -> dict[str, set[tuple[Any, ...]]]:
    """The tenant's rows in the system of record, in the cluster tables' columns."""
    member_select = [
        members.c.id if name == "member_id" else members.c[name] for name, _ in COLUMNS[MEMBERS]
    ]
    activity_names = [name for name, _ in COLUMNS[CAMPAIGN_ACTIVITY]]
    with db.read() as conn:
        return {
            MEMBERS: _tuples(
                conn.execute(sa.select(*member_select).where(members.c.tenant_id == tenant_id))
            ),
            MEMBER_TAGS: _tuples(
                conn.execute(sa.select(member_tags).where(member_tags.c.tenant_id == tenant_id))
            ),
            CAMPAIGN_ACTIVITY: _tuples(
                conn.execute(
                    sa.select(*(campaign_activity.c[n] for n in activity_names)).where(
                        campaign_activity.c.tenant_id == tenant_id
                    )
                )
            ),
        }


def in_cluster(client: ClusterClient, tenant_id: int) -> dict[str, set[tuple[Any, ...]]]:
    return {
        table: _tuples(
            client.rows(
                f"SELECT * FROM {current(client, table)} WHERE tenant_id = %(t)s", {"t": tenant_id}
            )
        )
        for table in (MEMBERS, MEMBER_TAGS, CAMPAIGN_ACTIVITY)
    }


def _tuples(rows: Any) -> set[tuple[Any, ...]]:
    return {tuple(row) for row in rows}
