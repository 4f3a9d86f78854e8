"""The segment use cases, called directly (no HTTP), on SQLite and PostgreSQL: what they write,
the build they queue, and each rule's error, word for word as the APIs answer it."""

from __future__ import annotations

from datetime import UTC
from typing import Any

import pytest
import sqlalchemy as sa

from segmentd.domain.errors import DomainValidationError, NotFound, UnknownList
from segmentd.domain.statuses import JobState, SegmentStatus
from segmentd.jobs.build_worker import run_pending
from segmentd.services import segment_service
from segmentd.services.segment_rules import (
    checked_commandersact_id,
    checked_member_ids,
    checked_name,
    checked_type,
    checked_type_filter,
)
from segmentd.services.segment_service import SegmentDraft
from segmentd.storage.db import Database
from segmentd.storage.schema import build_jobs
from segmentd.storage.segments import get_segment
from segmentd.storage.tenants import default_list_id
from tests.conftest import Tenant, test_settings
from tests.support.factories import add_list, add_member, held

UTC = UTC
PARIS = {"relation": "and", "items": [{"field_name": "Email", "op": "contain", "value": "paris"}]}


def _draft(**changes: Any) -> SegmentDraft:
    values: dict[str, Any] = {"name": "Paris", "segment_type": 0, "condition": PARIS}
    return SegmentDraft(**(values | changes))


def _jobs(db: Database, segment_id: str) -> list[str]:
    with db.read() as conn:
        rows = conn.execute(
            sa.select(build_jobs.c.state)
            .where(build_jobs.c.segment_id == segment_id)
            .order_by(build_jobs.c.generation)
        )
        return [str(state) for state in rows.scalars()]


def _build(db: Database, db_url: str) -> None:
    run_pending(db, test_settings(db_url))


def test_create_saves_the_segment_and_queues_its_build(db: Database, tenant: Tenant) -> None:
    segment = segment_service.create_segment(db, tenant.id, _draft(), UTC)
    assert (segment.name, segment.segment_type, segment.status) == ("Paris", 0, 1)
    with db.read() as conn:
        assert segment.list_id == default_list_id(conn, tenant.id)
    assert segment.condition["items"][0]["value"] == "paris"
    assert len(segment.commandersact_id) == 8
    assert _jobs(db, segment.id) == [JobState.QUEUED]


def test_create_keeps_a_chosen_commandersact_id_and_refuses_it_twice(
    db: Database, tenant: Tenant
) -> None:
    first = segment_service.create_segment(db, tenant.id, _draft(commandersact_id="5b07e9a3"), UTC)
    assert first.commandersact_id == "5B07E9A3"
    with pytest.raises(DomainValidationError) as refused:
        segment_service.create_segment(db, tenant.id, _draft(commandersact_id="5B07E9A3"), UTC)
    message = "[commandersact_id]:commandersact_id 5B07E9A3 is taken by another segment"
    assert str(refused.value) == message


def test_create_on_another_list_and_on_a_list_that_does_not_exist(
    db: Database, tenant: Tenant
) -> None:
    other = add_list(db, tenant.id)
    segment = segment_service.create_segment(db, tenant.id, _draft(list_id=str(other)), UTC)
    assert segment.list_id == other
    with pytest.raises(UnknownList) as refused:
        segment_service.create_segment(db, tenant.id, _draft(list_id=other + 100), UTC)
    assert str(refused.value) == f"[list_id]:list {other + 100} does not exist"


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"name": None}, "[segment_name]:segment_name is required"),
        (
            {"name": "a.b"},
            "[segment_name]:special characters such as ^, ?, +, ., *, \\, [, ], (, ) "
            "cannot be used",
        ),
        ({"segment_type": None}, "[type]:type is required"),
        ({"segment_type": True}, "[type]:type only be 0 (by field) or 1 (by campaign)"),
        (
            {"commandersact_id": "xyz"},
            "[commandersact_id]:commandersact_id must be 8 hexadecimal characters",
        ),
        ({"list_id": "x"}, "[list_id]:list_id must be an integer from 1 to 9007199254740991"),
        ({"condition": None}, "[condition]:condition is required"),
    ],
)
def test_create_refuses_each_broken_rule_and_writes_nothing(
    db: Database, tenant: Tenant, changes: dict[str, Any], message: str
) -> None:
    with pytest.raises(DomainValidationError) as refused:
        segment_service.create_segment(db, tenant.id, _draft(**changes), UTC)
    assert str(refused.value) == message
    with db.read() as conn:
        assert conn.execute(sa.select(sa.func.count()).select_from(build_jobs)).scalar() == 0


def test_update_redefines_and_supersedes_the_queued_build(db: Database, tenant: Tenant) -> None:
    segment = segment_service.create_segment(db, tenant.id, _draft(), UTC)
    lyon = {"relation": "and", "items": [{"field_name": "Email", "op": "contain", "value": "lyon"}]}
    draft = SegmentDraft(segment_type=0, condition=lyon)  # no name: the name stays
    updated = segment_service.update_segment(db, tenant.id, segment.id, draft, UTC)
    assert (updated.name, updated.condition["items"][0]["value"]) == ("Paris", "lyon")
    assert _jobs(db, segment.id) == [JobState.SUPERSEDED, JobState.QUEUED]
    with pytest.raises(NotFound):
        segment_service.update_segment(db, tenant.id, "nope", draft, UTC)
    with pytest.raises(DomainValidationError, match=r"^\[segment_name\]:segment_name is required$"):
        segment_service.update_segment(db, tenant.id, segment.id, _draft(name=" "), UTC)


def test_rebuild_remove_and_delete(db: Database, db_url: str, tenant: Tenant) -> None:
    ann = add_member(db, tenant.id, "ann@paris.example")
    bob = add_member(db, tenant.id, "bob@paris.example")
    add_member(db, tenant.id, "cy@lyon.example")
    segment = segment_service.create_segment(db, tenant.id, _draft(), UTC)
    _build(db, db_url)
    assert held(db, segment.id) == [ann, bob]

    assert segment_service.remove_members(db, tenant.id, segment.id, [bob, 10**9], UTC) == 1
    segment_service.rebuild_segment(db, tenant.id, segment.id)
    with db.read() as conn:
        rebuilding = get_segment(conn, tenant.id, segment.id)
    assert rebuilding is not None and rebuilding.status == SegmentStatus.BUILDING
    _build(db, db_url)
    assert held(db, segment.id) == [ann]  # a removed member stays out across rebuilds

    segment_service.delete_segment(db, tenant.id, segment.id)
    with db.read() as conn:
        assert get_segment(conn, tenant.id, segment.id) is None
    for call in (
        lambda: segment_service.delete_segment(db, tenant.id, segment.id),
        lambda: segment_service.rebuild_segment(db, tenant.id, segment.id),
        lambda: segment_service.remove_members(db, tenant.id, segment.id, [ann], UTC),
    ):
        with pytest.raises(NotFound):
            call()


def test_preview_counts_without_saving(db: Database, tenant: Tenant) -> None:
    add_member(db, tenant.id, "ann@paris.example")
    add_member(db, tenant.id, "cy@lyon.example")
    assert segment_service.preview_count(db, tenant.id, _draft(), UTC) == 1
    with pytest.raises(DomainValidationError, match=r"^\[type\]:type is required$"):
        segment_service.preview_count(db, tenant.id, _draft(segment_type=None), UTC)
    with pytest.raises(DomainValidationError, match=r"^\[condition\]:condition is required$"):
        segment_service.preview_count(db, tenant.id, _draft(condition=None), UTC)
    with db.read() as conn:
        assert conn.execute(sa.select(sa.func.count()).select_from(build_jobs)).scalar() == 0


def test_another_tenants_segment_is_not_found(db: Database, tenant: Tenant) -> None:
    from tests.conftest import make_tenant

    segment = segment_service.create_segment(db, tenant.id, _draft(), UTC)
    other = make_tenant(db, "other")
    with pytest.raises(NotFound):
        segment_service.delete_segment(db, other.id, segment.id)
    with pytest.raises(NotFound):
        segment_service.update_segment(db, other.id, segment.id, _draft(), UTC)


def test_the_envelope_rules() -> None:
    assert checked_name("VIP") == "VIP"
    with pytest.raises(DomainValidationError, match="at most 48 characters"):
        checked_name("x" * 49)
    with pytest.raises(DomainValidationError, match="cannot hold control characters"):
        checked_name("a\tb")
    assert checked_type(1) == 1
    assert checked_type_filter("") is None and checked_type_filter("1") == 1
    with pytest.raises(DomainValidationError) as refused:
        checked_type_filter("2")
    assert (refused.value.path, str(refused.value)) == (
        "",
        "type only be 0 (by field) or 1 (by campaign)",
    )
    assert checked_commandersact_id(None) is None
    assert checked_member_ids(["1", "x", "2"]) == [1, 2]
    with pytest.raises(DomainValidationError, match=r"^\[member_ids\]:member_ids is required$"):
        checked_member_ids(None)
    with pytest.raises(DomainValidationError, match="list of 1 to 1000 ids"):
        checked_member_ids([])
    with pytest.raises(DomainValidationError, match=r"^\[member_ids\[1\]\]:member ids must be"):
        checked_member_ids(["1", 2])
