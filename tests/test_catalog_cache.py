"""The per-process catalog cache (``storage.catalog``): every change is seen by the next
transaction, in this process and in others, and a change rolled back is never seen."""

from __future__ import annotations

from datetime import UTC

import pytest

from segmentd.domain.fields import CampaignStatus, Catalog, FieldType
from segmentd.storage.campaigns import create_campaign, update_campaign
from segmentd.storage.catalog import load_catalog
from segmentd.storage.db import Database
from segmentd.storage.field_defs import FieldChange, FieldSpec, create_field, update_field
from segmentd.storage.tags import delete_tag, ensure_tags, rename_tag
from segmentd.storage.tenants import default_list_id

from .conftest import Tenant


def catalog(db: Database, tenant: Tenant) -> Catalog:
    with db.read() as conn:
        return load_catalog(conn, tenant.id)


def test_a_change_by_another_process_is_seen_at_once(db: Database, tenant: Tenant) -> None:
    other = Database(db.url)  # its own engine and pool, as another server process has
    try:
        assert catalog(db, tenant).field("City") is None
        with other.write() as conn:
            created = create_field(
                conn, tenant.id, FieldSpec("City", FieldType.TEXT, None, (), True)
            )
        assert catalog(db, tenant).field("City") is not None
        with other.write() as conn:
            update_field(conn, tenant.id, int(created.id or 0), FieldChange(name="Town"), UTC)
        renamed = catalog(db, tenant)
        assert renamed.field("City") is None and renamed.field("Town") is not None
    finally:
        other.dispose()


def test_tags_and_campaign_statuses_reach_the_catalog(db: Database, tenant: Tenant) -> None:
    with db.write() as conn:
        tag_id = ensure_tags(conn, tenant.id, ["vip"])["vip"]
    assert catalog(db, tenant).tags == {"vip"}
    with db.write() as conn:
        rename_tag(conn, tenant.id, tag_id, "gold")
    assert catalog(db, tenant).tags == {"gold"}
    with db.write() as conn:
        delete_tag(conn, tenant.id, tag_id)
    assert catalog(db, tenant).tags == set()
    with db.write() as conn:
        list_id = default_list_id(conn, tenant.id)
        campaign = create_campaign(conn, tenant.id, "Spring", CampaignStatus.DRAFT, list_id)
    assert catalog(db, tenant).campaigns == {campaign.id: CampaignStatus.DRAFT}
    with db.write() as conn:
        update_campaign(conn, tenant.id, campaign.id, status=CampaignStatus.SENDING)
    assert catalog(db, tenant).campaigns == {campaign.id: CampaignStatus.SENDING}


def test_a_rolled_back_change_never_shows(db: Database, tenant: Tenant) -> None:
    with pytest.raises(RuntimeError), db.write() as conn:
        ensure_tags(conn, tenant.id, ["draft"])
        # Loaded (and cached) inside the doomed transaction, which sees its own tag.
        assert load_catalog(conn, tenant.id).tags == {"draft"}
        raise RuntimeError("roll back")
    assert catalog(db, tenant).tags == set()
    with db.write() as conn:
        ensure_tags(conn, tenant.id, ["kept"])
    assert catalog(db, tenant).tags == {"kept"}


def test_the_same_state_is_loaded_once(db: Database, tenant: Tenant) -> None:
    assert catalog(db, tenant) is catalog(db, tenant)
    with db.write() as conn:
        ensure_tags(conn, tenant.id, ["new"])
    assert catalog(db, tenant) is catalog(db, tenant)
