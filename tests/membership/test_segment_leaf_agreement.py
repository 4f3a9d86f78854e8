"""Segment leaves agree in SQL and in memory, on SQLite and PostgreSQL: random trees of
``in``/``not in`` segment leaves, tag leaves, groups and negations select the same members
through ``storage.compiler`` (reading the published generations, plain or complement, with
the membership's reader) as through ``domain.evaluator`` (reading ``Contact.segments``)."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC
from typing import Any

import sqlalchemy as sa
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from segmentd.domain.evaluator import evaluate
from segmentd.domain.native_form import parse_native
from segmentd.jobs.build_worker import run_pending
from segmentd.membership import store
from segmentd.services import segment_service
from segmentd.services.segment_service import SegmentDraft
from segmentd.services.static_segments import (
    StaticDraft,
    add_static_members,
    create_static_segment,
    remove_static_members,
)
from segmentd.storage.catalog import load_catalog
from segmentd.storage.compiler import compile_condition
from segmentd.storage.contacts import load_contacts
from segmentd.storage.db import Database
from segmentd.storage.schema import members
from segmentd.storage.segments import get_segment
from tests.conftest import Tenant, test_settings
from tests.support.factories import add_member, held

MEMBERS = 12
VIP = {"relation": "and", "items": [{"field_name": "tag", "op": "==", "value": "vip"}]}
NEWS = {"relation": "and", "items": [{"field_name": "tag", "op": "==", "value": "news"}]}


def world(db: Database, db_url: str, tenant: Tenant) -> tuple[list[int], list[str]]:
    """Members with tags; two static segments, a dynamic one stored as its complement (with
    a member removed by hand) and a plain one."""
    ids = [
        add_member(
            db, tenant.id, f"m{i}@example.com", tags=["vip"] * (i % 3 != 0) + ["news"] * (i % 2)
        )
        for i in range(MEMBERS)
    ]
    given = [create_static_segment(db, tenant.id, StaticDraft(name=f"S{n}")).id for n in (1, 2)]
    vip = segment_service.create_segment(db, tenant.id, SegmentDraft("Vip", 0, VIP), UTC).id
    news = segment_service.create_segment(db, tenant.id, SegmentDraft("News", 0, NEWS), UTC).id
    run_pending(db, test_settings(db_url, build_complement_share=0.5))
    segment_service.remove_members(db, tenant.id, vip, [ids[1]], UTC)
    return ids, [*given, vip, news]


def trees(segment_ids: list[str]) -> st.SearchStrategy[Any]:
    leaves = st.one_of(
        st.builds(
            lambda s, op: {"kind": "segment", "segment": s, "op": op},
            st.sampled_from(segment_ids),
            st.sampled_from(["in", "not_in"]),
        ),
        st.builds(
            lambda tag, op: {"kind": "tag", "tag": tag, "op": op},
            st.sampled_from(["vip", "news"]),
            st.sampled_from(["==", "!="]),
        ),
    )
    return st.recursive(
        leaves,
        lambda inner: st.one_of(
            st.builds(lambda items: {"all": items}, st.lists(inner, min_size=1, max_size=3)),
            st.builds(lambda items: {"any": items}, st.lists(inner, min_size=1, max_size=3)),
            st.builds(lambda item: {"not": item}, inner),
        ),
        max_leaves=8,
    )


def test_sql_and_memory_agree_on_segment_leaves(db: Database, db_url: str, tenant: Tenant) -> None:
    ids, segment_ids = world(db, db_url, tenant)
    assert set(held(db, segment_ids[2])) == {m for i, m in enumerate(ids) if i % 3 and i != 1}
    with db.read() as conn:
        vip = get_segment(conn, tenant.id, segment_ids[2])
    assert vip is not None and vip.horizon > 0  # stored as its complement

    @settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
    @given(
        raw=trees(segment_ids),
        given_to=st.lists(st.sets(st.sampled_from(ids), max_size=MEMBERS), min_size=2, max_size=2),
    )
    def agree(raw: Any, given_to: list[set[int]]) -> None:
        for static_id, wanted in zip(segment_ids[:2], given_to, strict=True):
            current = set(held(db, static_id))
            if wanted - current:
                add_static_members(
                    db, tenant.id, static_id, UTC, member_ids=sorted(wanted - current)
                )
            if current - wanted:
                remove_static_members(
                    db, tenant.id, static_id, UTC, member_ids=sorted(current - wanted)
                )
        inside = {s: set(held(db, s)) for s in segment_ids}
        with db.snapshot() as conn:
            catalog = load_catalog(conn, tenant.id)
            tree = parse_native(raw, catalog, UTC)
            where = compile_condition(tree, segments=store().published_sql(conn, tenant.id))
            by_sql = set(
                conn.execute(
                    sa.select(members.c.id).where(members.c.tenant_id == tenant.id, where)
                ).scalars()
            )
            contacts = load_contacts(conn, tenant.id, ids, catalog)
        by_memory = {
            m
            for m, contact in contacts.items()
            if evaluate(
                tree, replace(contact, segments=frozenset(s for s in inside if m in inside[s]))
            )
        }
        assert by_sql == by_memory, raw

    agree()
