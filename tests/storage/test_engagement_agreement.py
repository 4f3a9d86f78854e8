"""The SQL of the engagement and recency leaves agrees with the in-memory evaluator, on both
databases.

Hypothesis draws members with campaign activity at times around the day boundaries of the
windows (in a zone that is not UTC, to the second), and trees of engagement, last_activity
and campaign leaves under all, any and not. The members the SQL selects must be those the
evaluator accepts, on the drawn contacts and on contacts loaded back, however the SQL is
scoped: with or without the tenant, over all members or in ranges of ids, as builds and
previews compile it. Another tenant's members, with activity of their own, sit between ours.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import date, timedelta, timezone
from typing import Any

import sqlalchemy as sa
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from segmentd.domain.conditions import Group
from segmentd.domain.contact import CampaignActivity, Contact
from segmentd.domain.evaluator import evaluate
from segmentd.domain.fields import CampaignStatus, Catalog
from segmentd.domain.native_form import parse_native
from segmentd.domain.relative_days import Period, Unit, day_start, shifted
from segmentd.domain.stored_form import dump_condition, load_condition
from segmentd.storage import schema
from segmentd.storage.compiler import compile_condition
from segmentd.storage.condition_sql.leaf_compiler import IdRange
from segmentd.storage.contacts import load_contacts
from segmentd.storage.db import Database
from segmentd.storage.tenants import create_tenant, default_list_id
from tests.conftest import Tenant

TZ = timezone(timedelta(hours=5, minutes=30))
TODAY = date(2024, 3, 31)
CAMPAIGNS = (1, 2, 3)  # shifted by 1000 * tenant id: campaign ids are global
# 7 days and 1 week start on the same day; 1 month on 29 February (clamped).
WINDOWS = [(1, "days"), (7, "days"), (1, "weeks"), (1, "months")]
DAY = 86_400
EDGES = sorted(
    {day_start(shifted(TODAY, Period(amount, Unit(unit)), -1), TZ) for amount, unit in WINDOWS}
    | {day_start(TODAY, TZ), day_start(TODAY, TZ) + DAY}
)
moments = st.sampled_from(EDGES).flatmap(lambda edge: st.sampled_from([edge - 1, edge, edge + 1]))
times = st.one_of(st.none(), moments, moments, st.integers(EDGES[0] - 5 * DAY, EDGES[-1] + 2 * DAY))
# Any mix of times, the implied ones included or not: SQL and evaluator read the same columns.
activities = st.none() | st.builds(CampaignActivity, times, times, times)


@dataclass(frozen=True)
class Member:
    campaigns: dict[int, CampaignActivity]  # by campaign number (1..3)


members_strategy = st.builds(
    Member,
    st.tuples(*(activities for _ in CAMPAIGNS)).map(
        lambda drawn: {k: a for k, a in zip(CAMPAIGNS, drawn, strict=True) if a is not None}
    ),
)
member_lists = st.lists(members_strategy, max_size=8)

windows = st.none() | st.sampled_from(WINDOWS).map(lambda w: {"amount": w[0], "unit": w[1]})
engagement_leaves = st.builds(
    lambda activity, count_op, count, within: {
        "kind": "engagement",
        "activity": activity,
        "count_op": count_op,
        "count": count,
        "within": within,
    },
    st.sampled_from(["sent", "open", "click"]),
    st.sampled_from([">=", "<=", "==", ">", "<"]),
    st.integers(0, 4),
    windows,
)
recency_leaves = st.builds(
    lambda activity, op, window: (
        {"kind": "last_activity", "activity": activity, "op": "never"}
        if op == "never"
        else {"kind": "last_activity", "activity": activity, "op": op, **window}
    ),
    st.sampled_from(["sent", "open", "click", "engaged"]),
    st.sampled_from(["in_last", "more_than_ago", "never"]),
    st.sampled_from(WINDOWS).map(lambda w: {"amount": w[0], "unit": w[1]}),
)
campaign_leaves = st.builds(
    lambda number, activity: {"kind": "campaign", "campaign": number, "activity": activity},
    st.sampled_from(CAMPAIGNS),
    st.sampled_from(["sent", "open", "click", "unopen", "unclick", "notsent"]),
)
leaves = engagement_leaves | recency_leaves | campaign_leaves


@st.composite
def trees(draw: st.DrawFn, depth: int = 0) -> dict[str, Any]:
    """A node: a leaf, or (above depth 3) all, any or not of nodes."""
    shape = draw(st.sampled_from(["leaf", "leaf", "all", "any", "not"])) if depth < 3 else "leaf"
    if shape == "leaf":
        return draw(leaves)
    if shape == "not":
        return {"not": draw(trees(depth + 1))}
    return {shape: draw(st.lists(trees(depth + 1), min_size=1, max_size=3))}


def _shifted(node: Any, tenant: Tenant) -> Any:
    """The tree with the tenant's campaign ids."""
    if isinstance(node, list):
        return [_shifted(item, tenant) for item in node]
    if not isinstance(node, dict):
        return node
    if node.get("kind") == "campaign":
        return {**node, "campaign": node["campaign"] + 1000 * tenant.id}
    return {key: _shifted(value, tenant) for key, value in node.items()}


def _campaign_ids(tenant_id: int) -> dict[int, int]:
    return {number: number + 1000 * tenant_id for number in CAMPAIGNS}


def _catalog(tenant: Tenant) -> Catalog:
    return Catalog.build(
        (), {}, {cid: CampaignStatus.COMPLETED for cid in _campaign_ids(tenant.id).values()}
    )


def _other_tenant(db: Database) -> int:
    with db.read() as conn:
        found = conn.execute(
            sa.select(schema.tenants.c.id).where(schema.tenants.c.name == "elsewhere")
        ).scalar()
    if found is not None:
        return int(found)
    with db.write() as conn:
        return create_tenant(conn, "elsewhere")


def _store(db: Database, tenant: Tenant, members: list[Member]) -> list[int]:
    """Replace both tenants' members by ``members`` (each once in each tenant, interleaved);
    return our members' ids."""
    other = _other_tenant(db)
    ours = []
    with db.write() as conn:
        for tenant_id in (tenant.id, other):
            for table in (schema.campaign_activity, schema.members, schema.campaigns):
                conn.execute(sa.delete(table).where(table.c.tenant_id == tenant_id))
            for campaign_id in _campaign_ids(tenant_id).values():
                conn.execute(
                    sa.insert(schema.campaigns).values(
                        id=campaign_id,
                        tenant_id=tenant_id,
                        name=f"c{campaign_id}",
                        status=str(CampaignStatus.COMPLETED),
                        created_at=0,
                        updated_at=0,
                    )
                )
        lists = {t: default_list_id(conn, t) for t in (tenant.id, other)}
        for index, member in enumerate(members):
            for tenant_id in (other, tenant.id):
                member_id = _insert(conn, tenant_id, lists[tenant_id], index, member)
                if tenant_id == tenant.id:
                    ours.append(member_id)
    return ours


def _insert(conn: sa.Connection, tenant_id: int, list_id: int, index: int, member: Member) -> int:
    email = f"m{index}@example.com"
    member_id = conn.execute(
        sa.insert(schema.members)
        .values(
            tenant_id=tenant_id,
            list_id=list_id,
            email=email,
            email_key=email,
            domain="example.com",
            created_at=0,
            updated_at=0,
        )
        .returning(schema.members.c.id)
    ).scalar_one()
    ids = _campaign_ids(tenant_id)
    for number, activity in member.campaigns.items():
        conn.execute(
            sa.insert(schema.campaign_activity).values(
                tenant_id=tenant_id,
                campaign_id=ids[number],
                member_id=member_id,
                sent_at=activity.sent_at,
                opened_at=activity.opened_at,
                clicked_at=activity.clicked_at,
            )
        )
    return int(member_id)


def _selected(
    conn: sa.Connection, tenant: Tenant, condition: Group, scope: int | None, ranges: list[IdRange]
) -> set[int]:
    """Our members the SQL selects, compiled with ``scope`` as the tenant, range by range."""
    m = schema.members.c
    found: set[int] = set()
    for ids in ranges:
        where = compile_condition(condition, ids if len(ranges) > 1 else None, scope)
        query = sa.select(m.id).where(m.tenant_id == tenant.id, m.id > ids[0], m.id <= ids[1])
        found |= set(conn.execute(query.where(where)).scalars())
    return found


def _check(db: Database, tenant: Tenant, members: list[Member], raw: dict[str, Any]) -> None:
    ids = _store(db, tenant, members)
    catalog = _catalog(tenant)
    tree = parse_native(_shifted(raw, tenant), catalog, TZ, today=TODAY)
    condition = load_condition(json.dumps(dump_condition(tree)), catalog, TZ, today=TODAY)
    assert condition == tree
    shift = _campaign_ids(tenant.id)
    contacts = {
        member_id: Contact({}, campaigns={shift[k]: a for k, a in member.campaigns.items()})
        for member_id, member in zip(ids, members, strict=True)
    }
    expected = {member_id for member_id, c in contacts.items() if evaluate(condition, c)}
    everyone: list[IdRange] = [(0, 2**62)]
    middle = ids[len(ids) // 2] if ids else 0
    chunks: list[IdRange] = [(0, middle - 1), (middle - 1, middle + 1), (middle + 1, 2**62)]
    with db.read() as conn:
        for scope in (tenant.id, None):
            for ranges in (everyone, chunks):
                got = _selected(conn, tenant, condition, scope, ranges)
                assert got == expected, (raw, scope, ranges, members)
        loaded = load_contacts(conn, tenant.id, ids, catalog, with_tags=False)
    assert {m for m, c in loaded.items() if evaluate(condition, c)} == expected
    assert {m: c.campaigns for m, c in loaded.items()} == {
        m: c.campaigns for m, c in contacts.items()
    }


SETTINGS = settings(
    max_examples=80, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)


@SETTINGS
@given(members=member_lists, raw=trees())
def test_engagement_conditions_agree(
    db: Database, tenant: Tenant, members: list[Member], raw: dict[str, Any]
) -> None:
    _check(db, tenant, members, raw)


@SETTINGS
@given(members=member_lists, raw=st.lists(engagement_leaves, min_size=1, max_size=3))
def test_engagement_counts_agree_alone_and_negated(
    db: Database, tenant: Tenant, members: list[Member], raw: list[dict[str, Any]]
) -> None:
    """Counts at the top of the tree (where PostgreSQL joins their sets) and under not."""
    _check(db, tenant, members, {"all": raw})
    _check(db, tenant, members, {"not": {"any": raw}})


def test_every_window_edge_agrees(db: Database, tenant: Tenant) -> None:
    """One member per second around each edge and event (and one without activity), against
    every leaf that has a window, in every scope."""
    members = [Member({})]
    for edge in EDGES:
        for moment in (edge - 1, edge, edge + 1):
            members += [
                Member({1: CampaignActivity(sent_at=moment)}),
                Member({1: CampaignActivity(EDGES[0] - DAY, moment)}),
                Member({2: CampaignActivity(EDGES[0] - DAY, None, moment)}),
                Member({1: CampaignActivity(moment, moment), 3: CampaignActivity(*[moment] * 3)}),
                Member({2: CampaignActivity(*[moment] * 3), 3: CampaignActivity(*[moment] * 3)}),
            ]
    ids = _store(db, tenant, members)
    catalog = _catalog(tenant)
    shift = _campaign_ids(tenant.id)
    contacts = {
        member_id: Contact({}, campaigns={shift[k]: a for k, a in member.campaigns.items()})
        for member_id, member in zip(ids, members, strict=True)
    }
    raws: list[dict[str, Any]] = []
    for amount, unit in WINDOWS:
        window = {"amount": amount, "unit": unit}
        for activity in ("sent", "open", "click", "engaged"):
            raws += [
                {"kind": "last_activity", "activity": activity, "op": op, **window}
                for op in ("in_last", "more_than_ago")
            ]
            if activity != "engaged":
                raws += [
                    {"kind": "engagement", "activity": activity, "count_op": op, "count": count,
                     "within": window}
                    for op, count in ((">=", 1), ("==", 0), (">=", 2), ("<", 2))
                ]  # fmt: skip
    middle = ids[len(ids) // 2]
    chunks: list[IdRange] = [(0, middle), (middle, 2**62)]
    with db.read() as conn:
        for raw in raws:
            condition = parse_native(raw, catalog, TZ, today=TODAY)
            expected = {m for m, c in contacts.items() if evaluate(condition, c)}
            assert 0 < len(expected) < len(ids), raw  # the edges split the members
            for scope in (tenant.id, None):
                for ranges in ([(0, 2**62)], chunks):
                    got = _selected(conn, tenant, condition, scope, ranges)
                    assert got == expected, (raw, scope, ranges)
