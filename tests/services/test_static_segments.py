"""Static segments through their use cases, on SQLite and PostgreSQL: created with members
given by email or id, changed by hand and by CSV, read as any segment, never built, and
followed in real time by the segments that refer to them."""

from __future__ import annotations

from datetime import UTC
from typing import Any

import pytest
import sqlalchemy as sa

from segmentd.domain.errors import DomainValidationError, NotFound
from segmentd.domain.segment_kinds import SegmentKind
from segmentd.domain.statuses import SegmentStatus
from segmentd.jobs.build_worker import run_pending
from segmentd.membership import store
from segmentd.services import segment_service
from segmentd.services.member_service import delete_members
from segmentd.services.segment_service import SegmentDraft
from segmentd.services.static_segments import (
    GivenMembers,
    StaticDraft,
    add_static_members,
    add_static_members_csv,
    create_static_segment,
    remove_static_members,
    rename_static_segment,
)
from segmentd.storage.catalog import load_catalog
from segmentd.storage.db import Database
from segmentd.storage.schema import build_jobs, segment_exclusions
from segmentd.storage.segments import Segment, get_segment
from tests.conftest import Tenant, test_settings
from tests.support.factories import add_list, add_member, held, native_segment

PARIS = {"relation": "and", "items": [{"field_name": "Email", "op": "contain", "value": "paris"}]}


@pytest.fixture
def people(db: Database, tenant: Tenant) -> dict[str, int]:
    return {
        name: add_member(db, tenant.id, f"{name}@paris.example")
        for name in ("ann", "bob", "cy", "dee")
    }


def read(db: Database, tenant: Tenant, segment_id: str) -> Segment:
    with db.read() as conn:
        segment = get_segment(conn, tenant.id, segment_id)
    assert segment is not None
    return segment


def test_created_complete_with_its_members_by_email_and_id(
    db: Database, tenant: Tenant, people: dict[str, int]
) -> None:
    draft = StaticDraft(
        name="Hand picked",
        emails=["ANN@paris.example", " bob@paris.example "],
        member_ids=[str(people["bob"]), people["cy"]],
    )
    segment = create_static_segment(db, tenant.id, draft)
    assert segment.kind is SegmentKind.STATIC
    assert (segment.status, segment.percent, segment.generation) == (SegmentStatus.COMPLETE, 100, 1)
    assert segment.member_total == 3
    assert held(db, segment.id) == sorted([people["ann"], people["bob"], people["cy"]])
    with db.read() as conn:
        assert store().count(conn, _key(segment)) == 3
        assert load_catalog(conn, tenant.id).segments[segment.id].static  # the catalog knows it
    empty = create_static_segment(db, tenant.id, StaticDraft(name="Empty"))
    assert (empty.member_total, held(db, empty.id)) == (0, [])


def _key(segment: Segment) -> Any:
    class Key:
        tenant_id = segment.tenant_id
        segment_id = segment.id
        segment_number = segment.number
        generation = segment.generation

    return Key()


@pytest.mark.parametrize(
    ("draft", "message"),
    [
        (
            StaticDraft(name="X", emails=["nobody@paris.example"]),
            "[emails[0]]:nobody@paris.example names no member of list",
        ),
        (
            StaticDraft(name="X", member_ids=[10**9]),
            "[member_ids[0]]:1000000000 names no member of list",
        ),
        (
            StaticDraft(name="X", member_ids=["x"]),
            "[member_ids[0]]:a member id is an integer from 1",
        ),
        (
            StaticDraft(name="X", member_ids=[True]),
            "[member_ids[0]]:a member id is an integer from 1",
        ),
        (
            StaticDraft(name="X", emails="ann@paris.example"),
            "[emails]:emails must be a list of at most 1000",
        ),
        (StaticDraft(name="X", emails=[""]), "[emails[0]]:an email must be a non-empty string"),
        (StaticDraft(name="X", emails=["a\x00@x.io"]), "[emails[0]]:must not contain the NUL"),
        (
            StaticDraft(name="X", member_ids=[1] * 1001),
            "[member_ids]:member_ids must be a list of at most 1000",
        ),
        (StaticDraft(name=None), "[segment_name]:segment_name is required"),
        (StaticDraft(name="X", list_id=10**6), "[list_id]:list 1000000 does not exist"),
    ],
)
@pytest.mark.usefixtures("people")
def test_refused_whole_when_an_entry_is_wrong(
    db: Database, tenant: Tenant, draft: StaticDraft, message: str
) -> None:
    with pytest.raises(DomainValidationError) as refused:
        create_static_segment(db, tenant.id, draft)
    assert str(refused.value).startswith(message)
    with db.read() as conn:
        assert load_catalog(conn, tenant.id).segments == {}


def test_a_member_of_another_list_is_not_one_of_its_members(
    db: Database, tenant: Tenant, people: dict[str, int]
) -> None:
    other = add_list(db, tenant.id)
    elsewhere = add_member(db, tenant.id, "eve@paris.example", list_id=other)
    with pytest.raises(DomainValidationError, match="names no member of list"):
        create_static_segment(db, tenant.id, StaticDraft(name="X", member_ids=[elsewhere]))
    there = create_static_segment(
        db, tenant.id, StaticDraft(name="X", list_id=other, member_ids=[elsewhere])
    )
    assert held(db, there.id) == [elsewhere]


def test_members_added_and_removed_by_hand(
    db: Database, tenant: Tenant, people: dict[str, int]
) -> None:
    segment = create_static_segment(
        db, tenant.id, StaticDraft(name="S", emails=["ann@paris.example"])
    )
    added = add_static_members(
        db, tenant.id, segment.id, UTC, emails=["ann@paris.example"], member_ids=[people["bob"]]
    )
    assert added == GivenMembers(changed=1, unchanged=1)
    with pytest.raises(DomainValidationError, match=r"^\[emails\[1\]\]:x@y.io names no member"):
        add_static_members(db, tenant.id, segment.id, UTC, emails=["cy@paris.example", "x@y.io"])
    assert held(db, segment.id) == [people["ann"], people["bob"]]  # nothing was written
    removed = remove_static_members(
        db, tenant.id, segment.id, UTC, emails=["x@y.io", "ann@paris.example", "cy@paris.example"]
    )
    assert removed == GivenMembers(
        changed=1, unchanged=1, not_found=1, not_found_sample=("x@y.io",)
    )
    assert held(db, segment.id) == [people["bob"]]
    assert read(db, tenant, segment.id).member_total == 1
    with pytest.raises(DomainValidationError, match="give at least one email or member id"):
        add_static_members(db, tenant.id, segment.id, UTC)


def test_a_dynamic_segment_takes_no_given_members_and_a_static_one_no_condition(
    db: Database, db_url: str, tenant: Tenant, people: dict[str, int]
) -> None:
    dynamic = segment_service.create_segment(db, tenant.id, SegmentDraft("Paris", 0, PARIS), UTC)
    with pytest.raises(DomainValidationError, match="segment Paris is dynamic"):
        add_static_members(db, tenant.id, dynamic.id, UTC, member_ids=[people["ann"]])
    static = create_static_segment(db, tenant.id, StaticDraft(name="S", member_ids=[people["ann"]]))
    with pytest.raises(DomainValidationError) as refused:
        segment_service.update_segment(db, tenant.id, static.id, SegmentDraft("S", 0, PARIS), UTC)
    assert (
        str(refused.value)
        == "[condition]:segment S is static: its members are given, not a condition"
    )
    with pytest.raises(NotFound):
        add_static_members(db, tenant.id, "nope", UTC, member_ids=[people["ann"]])
    renamed = rename_static_segment(db, tenant.id, static.id, "Picked")
    assert renamed.name == "Picked"
    with db.read() as conn:
        assert load_catalog(conn, tenant.id).segments[static.id].name == "Picked"


def test_never_built(db: Database, db_url: str, tenant: Tenant, people: dict[str, int]) -> None:
    static = create_static_segment(db, tenant.id, StaticDraft(name="S", member_ids=[people["ann"]]))
    segment_service.rebuild_segment(db, tenant.id, static.id)  # nothing to build
    with db.read() as conn:
        jobs = conn.execute(sa.select(build_jobs.c.id).where(build_jobs.c.segment_id == static.id))
        assert jobs.all() == []
    with db.write() as conn:  # a job queued by hand is finished without touching it
        conn.execute(
            sa.insert(build_jobs).values(
                tenant_id=tenant.id, segment_id=static.id, generation=2, state="queued",
                created_at=0, updated_at=0,
            )
        )  # fmt: skip
    run_pending(db, test_settings(db_url))
    after = read(db, tenant, static.id)
    assert (after.status, after.generation, held(db, static.id)) == (2, 1, [people["ann"]])


def test_removing_by_hand_takes_a_static_member_out_without_excluding_it(
    db: Database, tenant: Tenant, people: dict[str, int]
) -> None:
    static = create_static_segment(db, tenant.id, StaticDraft(name="S", member_ids=[people["ann"]]))
    assert segment_service.remove_members(db, tenant.id, static.id, [people["ann"]], UTC) == 1
    with db.read() as conn:
        exclusions = conn.execute(sa.select(segment_exclusions.c.member_id)).all()
    assert exclusions == [] and held(db, static.id) == []
    add_static_members(db, tenant.id, static.id, UTC, member_ids=[people["ann"]])
    assert held(db, static.id) == [people["ann"]]  # given again


def test_a_deleted_member_leaves_it(db: Database, tenant: Tenant, people: dict[str, int]) -> None:
    static = create_static_segment(
        db, tenant.id, StaticDraft(name="S", member_ids=list(people.values()))
    )
    with db.write() as conn:
        delete_members(conn, tenant.id, [people["bob"]])
    assert held(db, static.id) == sorted(m for n, m in people.items() if n != "bob")
    assert read(db, tenant, static.id).member_total == 3


def test_a_csv_of_emails(db: Database, tenant: Tenant, people: dict[str, int]) -> None:
    static = create_static_segment(db, tenant.id, StaticDraft(name="S"))
    headed = (
        b"\xef\xbb\xbfName,EMAIL\nAnn,ann@paris.example\n\n"
        b"X,old@paris.example\nBob,BOB@paris.example\n"
    )
    result = add_static_members_csv(db, tenant.id, static.id, headed, UTC)
    assert result == GivenMembers(2, 0, 1, ("old@paris.example",))
    bare = b"ann@paris.example\ncy@paris.example\n"
    assert add_static_members_csv(db, tenant.id, static.id, bare, UTC) == GivenMembers(1, 1)
    assert held(db, static.id) == sorted([people["ann"], people["bob"], people["cy"]])


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"", "[file]:the CSV holds no email"),
        (
            b"name\nann\n",
            "[file]:the CSV needs a column headed email, or addresses in its first column",
        ),
        (b"\xff\xfe", "[file]:the CSV must be UTF-8"),
        (b"email\na\x00b@x.io\n", "[file]:the CSV must not contain the NUL character"),
        (b"email\n" + b"a@b.io\n" * 100_001, "[file]:the CSV must hold at most 100000 emails"),
        (b"x" * (8 * 1024 * 1024 + 1), "[file]:the CSV must be at most 8388608 bytes"),
    ],
)
def test_a_csv_that_cannot_be_read_is_refused(
    db: Database, tenant: Tenant, data: bytes, message: str
) -> None:
    static = create_static_segment(db, tenant.id, StaticDraft(name="S"))
    with pytest.raises(DomainValidationError) as refused:
        add_static_members_csv(db, tenant.id, static.id, data, UTC)
    assert str(refused.value) == message


def test_segments_referring_to_it_follow_each_change(
    db: Database, db_url: str, tenant: Tenant, people: dict[str, int]
) -> None:
    """B: in S and not in T; C: not in B. Given and taken members move through B and C."""
    s = create_static_segment(db, tenant.id, StaticDraft(name="S", member_ids=[people["ann"]]))
    t = create_static_segment(db, tenant.id, StaticDraft(name="T"))
    b = _native(db, tenant, "B", {"all": [_in(s.id), _in(t.id, "not_in")]})
    c = _native(db, tenant, "C", _in(b, "not_in"))
    run_pending(db, test_settings(db_url))
    everyone = sorted(people.values())
    assert held(db, b) == [people["ann"]]
    assert held(db, c) == [m for m in everyone if m != people["ann"]]

    add_static_members(db, tenant.id, s.id, UTC, member_ids=[people["bob"]])
    assert held(db, b) == [people["ann"], people["bob"]]
    assert held(db, c) == [people["cy"], people["dee"]]
    add_static_members(db, tenant.id, t.id, UTC, member_ids=[people["ann"]])
    remove_static_members(db, tenant.id, s.id, UTC, member_ids=[people["bob"]])
    assert held(db, b) == []
    assert held(db, c) == everyone
    assert (
        add_static_members_csv(db, tenant.id, s.id, b"email\ncy@paris.example\n", UTC).changed == 1
    )
    assert held(db, b) == [people["cy"]]
    assert [read(db, tenant, i).member_total for i in (b, c)] == [1, 3]
    with pytest.raises(DomainValidationError, match="segment S is used by segments: B"):
        segment_service.delete_segment(db, tenant.id, s.id)

    before = {i: held(db, i) for i in (b, c)}  # a full rebuild finds the same
    segment_service.rebuild_segment(db, tenant.id, b)
    run_pending(db, test_settings(db_url))
    assert {i: held(db, i) for i in (b, c)} == before


def _in(segment_id: str, op: str = "in") -> dict[str, Any]:
    return {"kind": "segment", "segment": segment_id, "op": op}


def _native(db: Database, tenant: Tenant, name: str, raw: Any) -> str:
    return native_segment(db, tenant.id, None, name, raw)
