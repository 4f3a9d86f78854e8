"""The other write paths record their changes too: CSV imports of members (SQLite's and
PostgreSQL's own writers) and of events, a resubscription, a deleted tag, a deleted field, a
changed email and a deleted campaign (its activity with it)."""

from __future__ import annotations

from pathlib import Path

import sqlalchemy as sa

from segmentd.analytics_cluster.outbox_drain import drain
from segmentd.analytics_cluster.shard_client import ClusterClient
from segmentd.imports.import_jobs import Kind
from segmentd.storage.campaigns import delete_campaign
from segmentd.storage.db import Database
from segmentd.storage.field_defs import delete_field
from segmentd.storage.members import unsubscribe
from segmentd.storage.one_member import change_email, member_key, resubscribe
from segmentd.storage.schema import members, tags
from segmentd.storage.tags import delete_tag
from segmentd.storage.tenants import default_list_id
from tests.analytics_cluster.cluster_world import cluster_client, in_cluster, of_record
from tests.conftest import make_tenant
from tests.support.clickhouse_cluster import ClickHouseCluster
from tests.support.factories import add_campaign, add_field
from tests.support.import_helpers import run_file, write_csv


def cities(client: ClusterClient, slot: int | None) -> int:
    """Live members with a city in the cluster."""
    sql = f"SELECT count() FROM {client.database}.members FINAL WHERE deleted = 0 AND "
    return int(client.rows(sql + f"t{slot} IS NOT NULL")[0][0])


def test_imports_resubscriptions_and_tag_deletions_reach_the_cluster(
    db_url: str, ch_cluster: ClickHouseCluster, tmp_path: Path
) -> None:
    db = Database(db_url, analytics_outbox=True)
    client = cluster_client(ch_cluster)
    try:
        tenant_id = make_tenant(db).id
        with db.read() as conn:
            list_id = default_list_id(conn, tenant_id)
        assert list_id is not None
        city = add_field(db, tenant_id, "city")
        emails = [f"m{i}@example.com" for i in range(40)]
        rows = [[e, f"n{i}", "a|b" if i % 2 else "b", f"c{i % 4}"] for i, e in enumerate(emails)]
        path = write_csv(tmp_path / "m.csv", ["email", "name", "tags", "city"], rows)
        run_file(db, path, list_id)
        drain(db, client)
        assert in_cluster(client, tenant_id) == of_record(db, tenant_id)
        assert cities(client, city.slot) == 40
        # The same import again updates every member (an import of existing rows).
        renamed = [[e, f"again{i}", "c"] for i, e in enumerate(emails)]
        path = write_csv(tmp_path / "m2.csv", ["email", "name", "tags"], renamed)
        run_file(db, path, list_id, tag_flag=0)
        campaign = add_campaign(db, tenant_id)
        events = [[e, "click" if i % 3 else "sent", "100"] for i, e in enumerate(emails[::2])]
        run_file(
            db,
            write_csv(tmp_path / "e.csv", ["email", "event", "time"], events),
            campaign,
            kind=Kind.EVENTS,
        )
        with db.write() as conn:
            unsubscribe(conn, tenant_id, list_id, emails[:5])
        drain(db, client)
        with db.write() as conn:
            first = conn.execute(
                sa.select(members.c.id).where(members.c.email_key == emails[0])
            ).scalar_one()
            assert resubscribe(conn, tenant_id, first).member_ids == [first]
            tag_c = conn.execute(
                sa.select(tags.c.id).where(tags.c.tenant_id == tenant_id, tags.c.name == "c")
            ).scalar_one()
            assert delete_tag(conn, tenant_id, tag_c)
            assert delete_field(conn, tenant_id, city.id)
        drain(db, client)
        expected = of_record(db, tenant_id)
        assert not expected["member_tags"]  # tag c was the only one left, now gone
        assert cities(client, city.slot) == 0
        assert len(expected["campaign_activity"]) == 20
        assert in_cluster(client, tenant_id) == expected
        with db.write() as conn:
            key = member_key(conn, tenant_id, first)
            assert key is not None
            assert change_email(conn, tenant_id, key, "moved@example.org").member_ids == [first]
            assert delete_campaign(conn, tenant_id, campaign)
        drain(db, client)
        expected = of_record(db, tenant_id)
        assert not expected["campaign_activity"]
        assert in_cluster(client, tenant_id) == expected
    finally:
        client.close()
        db.dispose()
