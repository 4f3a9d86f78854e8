"""Segments of segments through the use cases, on SQLite and PostgreSQL: the rules checked
when a condition is saved (cycle, depth, list), deletion refused while referred to, and
dependents kept current in real time (A -> B -> C) and after their references' rebuilds."""

from __future__ import annotations

from datetime import UTC
from typing import Any

import pytest
import sqlalchemy as sa

from segmentd.domain.errors import DomainValidationError, InUse
from segmentd.domain.native_form import parse_native
from segmentd.domain.segment_graph import MAX_REFERENCE_DEPTH
from segmentd.domain.statuses import JobState
from segmentd.jobs.build_queue import claim_job
from segmentd.jobs.build_worker import run_job, run_pending
from segmentd.services import segment_service
from segmentd.services.member_service import upsert_members
from segmentd.services.native_conditions import count_tree
from segmentd.storage.catalog import load_catalog
from segmentd.storage.db import Database
from segmentd.storage.members import TagFlag
from segmentd.storage.schema import build_jobs
from segmentd.storage.segments import get_segment
from segmentd.storage.tenants import default_list_id
from tests.conftest import Tenant, test_settings
from tests.support.factories import (
    add_field,
    add_list,
    add_member,
    add_tag,
    held,
    native_segment,
    redefine_native,
)

PARIS = {"kind": "field", "field": "City", "op": "==", "value": "paris"}
VIP = {"kind": "tag", "tag": "vip", "op": "=="}


def seg(segment_id: str, op: str = "in") -> dict[str, Any]:
    return {"kind": "segment", "segment": segment_id, "op": op}


def create(db: Database, tenant: Tenant, name: str, raw: Any, list_id: int | None = None) -> str:
    """A segment saved from a native condition, as the native API saves one."""
    return native_segment(db, tenant.id, list_id, name, raw)


def redefine(db: Database, tenant: Tenant, segment_id: str, raw: Any) -> None:
    redefine_native(db, tenant.id, segment_id, raw)


def build(db: Database, db_url: str) -> None:
    run_pending(db, test_settings(db_url))


def upsert(db: Database, tenant: Tenant, rows: list[dict[str, Any]]) -> None:
    with db.write() as conn:
        upsert_members(
            conn,
            tenant.id,
            default_list_id(conn, tenant.id),
            rows,
            update_existing=True,
            tag_flag=TagFlag.OVERWRITE,
            tz=UTC,
        )


@pytest.fixture
def city(db: Database, tenant: Tenant) -> None:
    """The field City and the tag vip."""
    add_field(db, tenant.id, "City")
    add_tag(db, tenant.id, "vip")


@pytest.mark.usefixtures("city")
def test_a_cycle_is_refused_naming_it(db: Database, tenant: Tenant) -> None:
    a = create(db, tenant, "Alpha", PARIS)
    b = create(db, tenant, "Beta", seg(a))
    c = create(db, tenant, "Gamma", seg(b))
    with pytest.raises(DomainValidationError) as refused:
        redefine(db, tenant, a, {"any": [PARIS, seg(c, "not_in")]})
    assert str(refused.value) == (
        "[condition.any[1].segment]:references may not form a cycle: "
        "Alpha -> Gamma -> Beta -> Alpha"
    )
    with pytest.raises(DomainValidationError, match=r"cycle: Beta -> Beta$"):
        redefine(db, tenant, b, seg(b))
    redefine(db, tenant, c, {"all": [seg(a), seg(b)]})  # no cycle: a diamond is fine


@pytest.mark.usefixtures("city")
def test_references_nest_at_most_five_deep(db: Database, tenant: Tenant) -> None:
    chain = [create(db, tenant, "S0", PARIS)]
    for level in range(1, MAX_REFERENCE_DEPTH + 1):
        chain.append(create(db, tenant, f"S{level}", seg(chain[-1])))
    with pytest.raises(DomainValidationError) as refused:
        create(db, tenant, "Too deep", seg(chain[-1]))
    assert refused.value.path == "condition.segment"
    assert refused.value.message.startswith("references nest at most 5 deep (6 here): Too deep")


@pytest.mark.usefixtures("city")
def test_a_reference_stays_on_its_list(db: Database, tenant: Tenant) -> None:
    other = add_list(db, tenant.id)
    elsewhere = create(db, tenant, "Elsewhere", PARIS, list_id=other)
    with pytest.raises(DomainValidationError, match=r"segment Elsewhere is on list \d+"):
        create(db, tenant, "Here", seg(elsewhere))


@pytest.mark.usefixtures("city")
def test_deleting_a_referenced_segment_is_refused_naming_who_refers(
    db: Database, tenant: Tenant
) -> None:
    a = create(db, tenant, "Alpha", PARIS)
    b = create(db, tenant, "Beta", seg(a))
    d = create(db, tenant, "Delta", {"not": seg(a)})
    with pytest.raises(InUse) as refused:
        segment_service.delete_segment(db, tenant.id, a)
    assert str(refused.value) == "[segment_id]:segment Alpha is used by segments: Beta, Delta"
    for referrer in (b, d):
        segment_service.delete_segment(db, tenant.id, referrer)
    segment_service.delete_segment(db, tenant.id, a)
    with db.read() as conn:
        assert a not in load_catalog(conn, tenant.id).segments


@pytest.mark.usefixtures("city")
def test_a_change_moves_a_member_through_a_chain_in_its_transaction(
    db: Database, db_url: str, tenant: Tenant
) -> None:
    """A: City paris; B: in A and vip; C: not in B. One upsert moves the member through all
    three before it commits."""
    a = create(db, tenant, "A", PARIS)
    b = create(db, tenant, "B", {"all": [seg(a), VIP]})
    c = create(db, tenant, "C", seg(b, "not_in"))
    upsert(db, tenant, [{"email": "ann@example.com", "fields": {"City": "Lyon"}, "tags": ["vip"]}])
    build(db, db_url)
    ann = held(db, c)[0]
    assert (held(db, a), held(db, b), held(db, c)) == ([], [], [ann])

    upsert(db, tenant, [{"email": "ann@example.com", "fields": {"City": "Paris"}}])
    assert (held(db, a), held(db, b), held(db, c)) == ([ann], [ann], [])
    upsert(db, tenant, [{"email": "ann@example.com", "tags": []}])  # B reads the tag itself
    assert (held(db, a), held(db, b), held(db, c)) == ([ann], [], [ann])
    segment_service.remove_members(db, tenant.id, a, [ann], UTC)  # by hand, from A
    assert (held(db, a), held(db, b), held(db, c)) == ([], [], [ann])
    with db.read() as conn:
        totals = [get_segment(conn, tenant.id, s) for s in (a, b, c)]
    assert [s.member_total if s else None for s in totals] == [0, 0, 1]


def jobs_of(db: Database, segment_id: str) -> list[str]:
    with db.read() as conn:
        rows = conn.execute(
            sa.select(build_jobs.c.state)
            .where(build_jobs.c.segment_id == segment_id)
            .order_by(build_jobs.c.id)
        )
        return [str(state) for state in rows.scalars()]


@pytest.mark.usefixtures("city")
def test_a_rebuild_that_publishes_queues_the_dependents_in_turn(
    db: Database, db_url: str, tenant: Tenant
) -> None:
    ann = add_member(db, tenant.id, "ann@example.com", values={"City": "paris"})
    bob = add_member(db, tenant.id, "bob@example.com", values={"City": "Lyon"})
    a = create(db, tenant, "A", PARIS)
    b = create(db, tenant, "B", seg(a))
    c = create(db, tenant, "C", seg(b, "not_in"))
    build(db, db_url)
    assert (held(db, a), held(db, b), held(db, c)) == ([ann], [ann], [bob])

    c_builds = len(jobs_of(db, c))
    redefine(db, tenant, a, {"all": [{**PARIS, "value": "lyon"}]})
    settings = test_settings(db_url, build_group_size=1)
    claim = claim_job(db, "w", 60)
    assert claim is not None and claim.segment_id == a
    run_job(db, settings, claim, lambda: False)
    # A published: B is queued for a rebuild, and keeps its status and membership meanwhile.
    assert held(db, a) == [bob] and held(db, b) == [ann]
    assert jobs_of(db, b)[-1] == JobState.QUEUED and jobs_of(db, c)[-1] == JobState.DONE
    with db.read() as conn:
        assert get_segment(conn, tenant.id, b).status == 2  # type: ignore[union-attr]
    build(db, db_url)  # B publishes, then C is queued and built
    assert (held(db, a), held(db, b), held(db, c)) == ([bob], [bob], [ann])
    assert jobs_of(db, c)[c_builds - 1 :] == [JobState.DONE, JobState.DONE]  # one more build


@pytest.mark.usefixtures("city")
def test_a_preview_counts_through_references(db: Database, db_url: str, tenant: Tenant) -> None:
    add_member(db, tenant.id, "ann@example.com", values={"City": "paris"}, tags=["vip"])
    add_member(db, tenant.id, "bob@example.com", values={"City": "paris"})
    add_member(db, tenant.id, "cy@example.com", values={"City": "Lyon"})
    a = create(db, tenant, "A", PARIS)
    build(db, db_url)
    with db.read() as conn:
        catalog = load_catalog(conn, tenant.id)
        list_id = default_list_id(conn, tenant.id)
        in_a_not_vip = parse_native({"all": [seg(a), {"not": VIP}]}, catalog, UTC)
        assert count_tree(conn, tenant.id, list_id, in_a_not_vip) == 1
        not_in_a = parse_native(seg(a, "not_in"), catalog, UTC)
        assert count_tree(conn, tenant.id, list_id, not_in_a) == 1
