"""The per-process catalog cache (``storage.catalog``): every change is seen by the next
transaction, in this process and in others, and a change rolled back is never seen."""

from __future__ import annotations

import threading
from datetime import UTC

import pytest

from segmentd.domain.fields import CampaignStatus, Catalog, FieldType
from segmentd.services.catalog_service import update_field_in
from segmentd.storage.campaigns import create_campaign, update_campaign
from segmentd.storage.catalog import load_catalog
from segmentd.storage.db import Database
from segmentd.storage.field_defs import FieldChange, FieldSpec, create_field
from segmentd.storage.tags import delete_tag, ensure_tags, rename_tag
from segmentd.storage.tenants import default_list_id
from segmentd.storage.write_lock import lock_tenant_writes
from tests.conftest import Tenant


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
            update_field_in(conn, tenant.id, int(created.id or 0), FieldChange(name="Town"), UTC)
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


def test_a_writer_that_waited_for_the_lock_reads_the_catalog_left_by_the_one_before(
    db: Database, tenant: Tenant
) -> None:
    """The tenant's write lock hands the next writer the catalog version the previous writer
    committed (on PostgreSQL the lock really waits; on SQLite writers never overlap)."""
    if db.is_sqlite:
        with db.write() as conn:
            before = lock_tenant_writes(conn, tenant.id)
            ensure_tags(conn, tenant.id, {"vip"})
        with db.write() as conn:
            after = lock_tenant_writes(conn, tenant.id)
        assert after.catalog_version != before.catalog_version
        assert load_catalog_with(db, tenant, after.catalog_version).tags == {"vip"}
        return
    first_locked, seen = threading.Event(), {}
    release = threading.Event()

    def first() -> None:
        with db.write() as conn:
            lock_tenant_writes(conn, tenant.id)
            ensure_tags(conn, tenant.id, {"vip"})  # a new catalog version
            first_locked.set()
            release.wait(10)

    def second() -> None:
        first_locked.wait(10)
        with db.write() as conn:
            seen["lock"] = lock_tenant_writes(conn, tenant.id)
            seen["catalog"] = load_catalog(conn, tenant.id, seen["lock"].catalog_version)

    threads = [threading.Thread(target=first), threading.Thread(target=second)]
    for thread in threads:
        thread.start()
    first_locked.wait(10)
    threads[1].join(0.5)
    assert threads[1].is_alive(), "the second writer must wait for the first"
    release.set()
    for thread in threads:
        thread.join(10)
    assert seen["catalog"].tags == {"vip"}
    assert seen["lock"].default_list_id == default_list(db, tenant)


def load_catalog_with(db: Database, tenant: Tenant, version: int | None) -> Catalog:
    with db.read() as conn:
        return load_catalog(conn, tenant.id, version)


def default_list(db: Database, tenant: Tenant) -> int:
    with db.read() as conn:
        return default_list_id(conn, tenant.id)
