"""The catalog use cases (fields, tags, campaigns), called directly (no HTTP), on SQLite and
PostgreSQL: what they write, what members and segments see of it, and each rule's error."""

from __future__ import annotations

from datetime import UTC
from typing import Any

import pytest
import sqlalchemy as sa

from segmentd.domain.errors import DomainValidationError
from segmentd.domain.fields import CampaignStatus, FieldType
from segmentd.jobs.build_worker import run_pending
from segmentd.services import catalog_service
from segmentd.services.catalog_service import FieldDraft
from segmentd.services.segment_service import (
    SegmentDraft,
    create_segment,
    insert_segment,
    rebuild_segment,
)
from segmentd.storage.campaigns import get_campaign
from segmentd.storage.catalog import load_catalog
from segmentd.storage.db import Database
from segmentd.storage.field_defs import FieldChange, list_fields
from segmentd.storage.member_rows import fetch_members
from segmentd.storage.schema import campaign_activity, import_jobs, segments
from segmentd.storage.tags import get_tag
from segmentd.storage.tenants import default_list_id
from tests.conftest import Tenant, test_settings
from tests.support.factories import (
    add_activity,
    add_campaign,
    add_field,
    add_list,
    add_member,
    add_tag,
    held,
)
from tests.support.stored_conditions import stored_native


def _segment(db: Database, tenant: Tenant, field_name: str, op: str, value: str) -> str:
    condition = {"relation": "and", "items": [{"field_name": field_name, "op": op, "value": value}]}
    draft = SegmentDraft(name=f"uses {field_name}", segment_type=0, condition=condition)
    return create_segment(db, tenant.id, draft, UTC).id


def _native_segment(db: Database, tenant: Tenant, name: str, native: dict[str, Any]) -> str:
    """A segment of a native condition, as the native API writes one."""
    with db.write() as conn:
        condition = stored_native(conn, tenant.id, native)
        list_id = default_list_id(conn, tenant.id)
        return insert_segment(
            conn, tenant.id, list_id=list_id, name=name, segment_type=0, condition=condition
        )


def _refused(call: Any, *args: Any) -> tuple[str, str]:
    with pytest.raises(DomainValidationError) as caught:
        call(*args)
    return caught.value.path, caught.value.message


# --- fields ------------------------------------------------------------------------------------


def test_create_field_saves_it_in_the_catalog(db: Database, tenant: Tenant) -> None:
    draft = FieldDraft("Plan", 4, None, ["Free", "Pro"], False)
    field = catalog_service.create_field(db, tenant.id, draft)
    assert (field.name, field.type, field.options, field.visible) == (
        "Plan",
        FieldType.DROPDOWN,
        ("Free", "Pro"),
        False,
    )
    with db.read() as conn:
        assert [f.id for f in list_fields(conn, tenant.id)] == [field.id]
        assert load_catalog(conn, tenant.id).field("plan") is not None


@pytest.mark.parametrize(
    ("draft", "path", "message"),
    [
        (FieldDraft("no spaces", 0), "field_name", "field_name must be 1 to 64 characters of "
         "letters, digits and _"),
        (FieldDraft("email", 0), "field_name", "email is a system field name"),
        (FieldDraft("Age", 7), "field_type", "field_type only be 0 (text), 1 (number), 2 (date), "
         "3 (birthday) or 4 (dropdown)"),
        (FieldDraft("Age", True), "field_type", "field_type only be 0 (text), 1 (number), "
         "2 (date), 3 (birthday) or 4 (dropdown)"),
        (FieldDraft("Plan", 4, None, ["a", "a"]), "options", "options must not repeat"),
        (FieldDraft("Age", 1, None, None, "yes"), "visible", "visible must be true or false"),
    ],
)  # fmt: skip
def test_create_field_refuses_a_bad_definition(
    db: Database, tenant: Tenant, draft: FieldDraft, path: str, message: str
) -> None:
    assert _refused(catalog_service.create_field, db, tenant.id, draft) == (path, message)
    with db.read() as conn:
        assert list_fields(conn, tenant.id) == []


def test_create_field_refuses_a_taken_name_in_any_case(db: Database, tenant: Tenant) -> None:
    catalog_service.create_field(db, tenant.id, FieldDraft("City", 0))
    refused = _refused(catalog_service.create_field, db, tenant.id, FieldDraft("CITY", 0))
    assert refused == ("field_name", "a field named CITY already exists")


def test_create_field_in_writes_in_the_callers_transaction(db: Database, tenant: Tenant) -> None:
    with pytest.raises(RuntimeError), db.write() as conn:
        catalog_service.create_field_in(conn, tenant.id, FieldDraft("City", 0))
        raise RuntimeError("roll back")
    with db.read() as conn:
        assert list_fields(conn, tenant.id) == []
    with db.write() as conn:
        created = catalog_service.create_field_in(conn, tenant.id, FieldDraft("City", 0))
    with db.read() as conn:
        assert [f.id for f in list_fields(conn, tenant.id)] == [created.id]


def test_update_field_renames_and_hides(db: Database, tenant: Tenant) -> None:
    field = add_field(db, tenant.id, "City")
    change = FieldChange(name="Town", visible=False)
    updated = catalog_service.update_field(db, tenant.id, field.id or 0, change, UTC)
    assert updated is not None and (updated.name, updated.visible) == ("Town", False)
    assert catalog_service.update_field(db, tenant.id, 999_999, change, UTC) is None


def test_update_field_refuses_each_rule(db: Database, tenant: Tenant) -> None:
    city = add_field(db, tenant.id, "City")
    add_field(db, tenant.id, "Town")
    update = catalog_service.update_field
    field_id = city.id or 0
    assert _refused(update, db, tenant.id, field_id, FieldChange(name="town"), UTC) == (
        "field_name",
        "a field named town already exists",
    )
    assert _refused(update, db, tenant.id, field_id, FieldChange(field_type=1), UTC) == (
        "field_type",
        "the type of a field cannot change",
    )
    assert _refused(update, db, tenant.id, field_id, FieldChange(format=".00"), UTC) == (
        "format",
        "the format of a field cannot change",
    )
    with db.read() as conn:
        assert [f.name for f in list_fields(conn, tenant.id)] == ["City", "Town"]


def test_dropping_an_option_clears_it_and_segments_follow(
    db: Database, db_url: str, tenant: Tenant
) -> None:
    plan = add_field(db, tenant.id, "Plan", FieldType.DROPDOWN, options=("Free", "Pro", "Max"))
    pro = add_member(db, tenant.id, "pro@example.com", values={"Plan": "Pro"})
    add_member(db, tenant.id, "free@example.com", values={"Plan": "Free"})
    top = add_member(db, tenant.id, "max@example.com", values={"Plan": "Max"})
    uses_pro = _segment(db, tenant, "Plan", "==", "Pro")
    not_free = _segment(db, tenant, "Plan", "!=", "Free")
    run_pending(db, test_settings(db_url))
    assert held(db, uses_pro) == [pro]
    assert top in held(db, not_free)
    dropping_pro = FieldChange(options=["Free", "Max"])
    assert _refused(
        catalog_service.update_field, db, tenant.id, plan.id or 0, dropping_pro, UTC
    ) == ("options", "options Pro are used by segments: uses Plan")
    change = FieldChange(options=["Free", "Pro"])  # Max: no segment tests it
    updated = catalog_service.update_field(db, tenant.id, plan.id or 0, change, UTC)
    assert updated is not None and updated.options == ("Free", "Pro")
    with db.read() as conn:
        (member,) = fetch_members(conn, tenant.id, [top], list_fields(conn, tenant.id))
    assert [value for _, value in member.values] == [None]
    followed = held(db, not_free)  # as the update's transaction left it, before any rebuild
    assert top in followed  # an empty value is not Free either
    rebuild_segment(db, tenant.id, not_free)
    run_pending(db, test_settings(db_url))
    assert held(db, not_free) == followed


def test_an_option_an_in_list_names_cannot_be_dropped(
    db: Database, db_url: str, tenant: Tenant
) -> None:
    plan = add_field(db, tenant.id, "Plan", FieldType.DROPDOWN, options=("Free", "Pro", "Max"))
    pro = add_member(db, tenant.id, "pro@example.com", values={"Plan": "Pro"})
    add_member(db, tenant.id, "free@example.com", values={"Plan": "Free"})
    unset = add_member(db, tenant.id, "unset@example.com")
    leaf = {"kind": "field", "field": "Plan", "op": "not_in", "values": ["Free", "Max"]}
    not_paying = _native_segment(db, tenant, "not free or max", {"all": [leaf]})
    run_pending(db, test_settings(db_url))
    assert held(db, not_paying) == sorted([pro, unset])
    dropping_max = FieldChange(options=["Free", "Pro"])
    assert _refused(
        catalog_service.update_field, db, tenant.id, plan.id or 0, dropping_max, UTC
    ) == ("options", "options Max are used by segments: not free or max")


def test_delete_field_clears_it_unless_a_segment_uses_it(db: Database, tenant: Tenant) -> None:
    city = add_field(db, tenant.id, "City")
    age = add_field(db, tenant.id, "Age", FieldType.NUMBER)
    _segment(db, tenant, "Age", ">", "17")
    assert catalog_service.delete_field(db, tenant.id, city.id or 0) is True
    assert catalog_service.delete_field(db, tenant.id, city.id or 0) is False
    refused = _refused(catalog_service.delete_field, db, tenant.id, age.id or 0)
    assert refused == ("field_id", "field Age is used by segments: uses Age")
    with db.read() as conn:
        assert [f.name for f in list_fields(conn, tenant.id)] == ["Age"]


# --- tags --------------------------------------------------------------------------------------


def test_rename_tag_keeps_the_segments_testing_it(db: Database, tenant: Tenant) -> None:
    tag_id = add_tag(db, tenant.id, "vip")
    add_member(db, tenant.id, "ann@example.com", tags=["vip"])
    segment_id = _segment(db, tenant, "tag", "==", "vip")
    renamed = catalog_service.rename_tag(db, tenant.id, tag_id, "gold")
    assert renamed is not None and (renamed.name, renamed.member_count) == ("gold", 1)
    with db.read() as conn:
        assert load_catalog(conn, tenant.id).tags == {"gold"}
    refused = _refused(catalog_service.delete_tag, db, tenant.id, tag_id)
    assert refused == ("tag_id", "tag gold is used by segments: uses tag")
    assert segment_id
    assert catalog_service.rename_tag(db, tenant.id, 999_999, "x") is None


def test_a_tag_a_tag_list_names_cannot_be_deleted(
    db: Database, db_url: str, tenant: Tenant
) -> None:
    news = add_tag(db, tenant.id, "news")
    add_tag(db, tenant.id, "vip")
    reader = add_member(db, tenant.id, "ann@example.com", tags=["news"])
    add_member(db, tenant.id, "bob@example.com", tags=["news"], unsubscribed_at=1)
    add_member(db, tenant.id, "cy@example.com")
    native = {
        "all": [
            {"kind": "tags", "op": "any_of", "tags": ["vip", "news"]},
            {"kind": "subscription", "status": "subscribed"},
        ]
    }
    segment_id = _native_segment(db, tenant, "readers", native)
    run_pending(db, test_settings(db_url))
    assert held(db, segment_id) == [reader]
    refused = _refused(catalog_service.delete_tag, db, tenant.id, news)
    assert refused == ("tag_id", "tag news is used by segments: readers")


def test_rename_tag_refuses_each_rule(db: Database, tenant: Tenant) -> None:
    tag_id = add_tag(db, tenant.id, "vip")
    add_tag(db, tenant.id, "gold")
    rename = catalog_service.rename_tag
    assert _refused(rename, db, tenant.id, tag_id, "gold") == (
        "tag_name",
        "a tag named gold already exists",
    )
    blank = "a tag name is a non-blank string of at most 128 characters"
    assert _refused(rename, db, tenant.id, tag_id, "  ") == ("tag_name", blank)
    assert _refused(rename, db, tenant.id, tag_id, "x" * 129) == ("tag_name", blank)
    with db.read() as conn:
        tag = get_tag(conn, tenant.id, tag_id)
    assert tag is not None and tag.name == "vip"


def test_delete_tag_takes_it_off_its_members(db: Database, tenant: Tenant) -> None:
    tag_id = add_tag(db, tenant.id, "vip")
    ann = add_member(db, tenant.id, "ann@example.com", tags=["vip"])
    assert catalog_service.delete_tag(db, tenant.id, tag_id) is True
    assert catalog_service.delete_tag(db, tenant.id, tag_id) is False
    with db.read() as conn:
        (member,) = fetch_members(conn, tenant.id, [ann], list_fields(conn, tenant.id))
        assert load_catalog(conn, tenant.id).tags == set()
    assert member.tag_names == ()


# --- campaigns ---------------------------------------------------------------------------------


def test_create_and_update_a_campaign(db: Database, tenant: Tenant) -> None:
    with db.write() as conn:
        list_id = default_list_id(conn, tenant.id)
        created = catalog_service.create_campaign_in(
            conn, tenant.id, "Spring", catalog_service.checked_status("draft"), list_id
        )
    assert (created.name, created.status, created.list_id) == ("Spring", "draft", list_id)
    updated = catalog_service.update_campaign(
        db, tenant.id, created.id, "Spring sale", CampaignStatus.SENDING
    )
    assert updated is not None and (updated.name, updated.status) == ("Spring sale", "sending")
    with db.read() as conn:
        assert load_catalog(conn, tenant.id).campaigns == {created.id: CampaignStatus.SENDING}
    assert catalog_service.update_campaign(db, tenant.id, 999_999, "x") is None


def test_campaign_rules(db: Database, tenant: Tenant) -> None:
    assert _refused(catalog_service.checked_status, "paused") == (
        "status",
        "status must be one of draft, sending, completed, cancelled",
    )
    with db.write() as conn:
        list_id = default_list_id(conn, tenant.id)
        created = catalog_service.create_campaign_in(
            conn, tenant.id, "Spring", CampaignStatus.COMPLETED, list_id
        )
    name_rule = "campaign_name is a non-blank string of at most 255 characters"
    with db.write() as conn:
        blank = (conn, tenant.id, " ", CampaignStatus.DRAFT, list_id)
        assert _refused(catalog_service.create_campaign_in, *blank) == ("campaign_name", name_rule)
    update = catalog_service.update_campaign
    assert _refused(update, db, tenant.id, created.id, None, CampaignStatus.DRAFT) == (
        "status",
        "a completed campaign cannot become draft",
    )
    assert _refused(update, db, tenant.id, created.id, "") == ("campaign_name", name_rule)
    with db.read() as conn:
        found = get_campaign(conn, tenant.id, created.id)
    assert found is not None and (found.name, found.status) == ("Spring", "completed")


def test_delete_campaign_deletes_its_activity_unless_a_segment_tests_it(
    db: Database, db_url: str, tenant: Tenant
) -> None:
    spare = add_campaign(db, tenant.id, name="Spare")
    tested = add_campaign(db, tenant.id, name="Tested")
    ann = add_member(db, tenant.id, "ann@example.com")
    bob = add_member(db, tenant.id, "bob@example.com")
    add_activity(db, tenant.id, spare, ann, opened=True)
    add_activity(db, tenant.id, tested, bob, opened=True)
    native = {"kind": "campaign", "campaign": tested, "activity": "open"}
    _native_segment(db, tenant, "opened Tested", native)
    engaged = _native_segment(
        db,
        tenant,
        "openers",
        {"kind": "engagement", "activity": "open", "count_op": ">=", "count": 1, "within": None},
    )
    openers = {"kind": "engagement", "activity": "open", "count_op": ">=", "count": 1}
    other_list = add_list(db, tenant.id)
    with db.write() as conn:
        elsewhere = insert_segment(
            conn,
            tenant.id,
            list_id=other_list,
            name="openers elsewhere",
            segment_type=0,
            condition=stored_native(conn, tenant.id, openers),
        )
    run_pending(db, test_settings(db_url))
    assert held(db, engaged) == sorted([ann, bob])

    refused = _refused(catalog_service.delete_campaign, db, tenant.id, tested)
    assert refused == ("campaign_id", "campaign Tested is used by segments: opened Tested")
    assert catalog_service.delete_campaign(db, tenant.id, spare) is True
    assert catalog_service.delete_campaign(db, tenant.id, spare) is False
    with db.read() as conn:
        assert get_campaign(conn, tenant.id, spare) is None
        assert set(load_catalog(conn, tenant.id).campaigns) == {tested}
        left = conn.execute(sa.select(campaign_activity.c.campaign_id)).scalars().all()
        assert left == [tested]
        status = dict(conn.execute(sa.select(segments.c.id, segments.c.status)).all())
    assert status[engaged] == 1  # building: its rebuild was queued with the delete
    assert status[elsewhere] == 2  # another list: none of its members had that activity
    run_pending(db, test_settings(db_url))
    assert held(db, engaged) == [bob]  # ann's only open went with the campaign


def test_a_campaign_importing_events_cannot_be_deleted(db: Database, tenant: Tenant) -> None:
    campaign_id = add_campaign(db, tenant.id, name="Imported")
    with db.write() as conn:
        conn.execute(
            sa.insert(import_jobs).values(
                tenant_id=tenant.id,
                kind="events",
                origin="api",
                campaign_id=campaign_id,
                options="{}",
                path="/nowhere.csv",
                file_size=0,
                file_digest="",
                state="queued",
                created_at=0,
                updated_at=0,
            )
        )
    refused = _refused(catalog_service.delete_campaign, db, tenant.id, campaign_id)
    assert refused == (
        "campaign_id",
        "campaign Imported has an import of events under way: delete it once done",
    )
    with db.write() as conn:
        conn.execute(sa.update(import_jobs).values(state="done"))
    assert catalog_service.delete_campaign(db, tenant.id, campaign_id) is True
