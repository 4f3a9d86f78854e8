"""What the differential tests of the analytics back-end share: members drawn on the edges of
the world's days with campaign activity at times around its windows, static segments given
drawn members, trees of every leaf kind, and the three answers to compare (the in-memory
evaluator, the SQL compiler on the system of record, ClickHouse after a full load)."""

from __future__ import annotations

import itertools
from collections.abc import Callable, Collection, Mapping
from dataclasses import replace
from functools import cache
from typing import Any

import sqlalchemy as sa
from hypothesis import strategies as st

from segmentd.analytics.clickhouse_compiler import members_query
from segmentd.analytics.full_load import Target, load_tenant
from segmentd.analytics.read_point import ReadPoint, read_point
from segmentd.domain.conditions import Condition
from segmentd.domain.contact import CampaignActivity, Contact
from segmentd.domain.evaluator import evaluate
from segmentd.membership import store
from segmentd.storage import schema
from segmentd.storage.compiler import compile_condition
from segmentd.storage.db import Database
from tests.support.condition_members import CAMPAIGNS, Member
from tests.support.condition_strategies import (
    LEAF_KINDS,
    Leaf,
    World,
    members,
    moments,
)

Kind = Callable[[World], st.SearchStrategy[Leaf]]
WINDOWS = [(1, "days"), (7, "days"), (1, "weeks"), (1, "months"), (3, "months")]


@cache
def _times(world: World) -> st.SearchStrategy[int | None]:
    return st.none() | moments(world)


@cache
def activities(world: World) -> st.SearchStrategy[CampaignActivity | None]:
    """None, or activity with any mix of times around the world's day boundaries."""
    times = _times(world)
    return st.none() | st.builds(CampaignActivity, times, times, times)


@st.composite
def timed_members(draw: st.DrawFn, world: World, index: int) -> Member:
    """A member of ``condition_strategies.members``, its campaign activity timed."""
    member = draw(members(world, index))
    campaigns = {}
    for number in CAMPAIGNS:
        activity = draw(activities(world))
        if activity is not None:
            campaigns[number] = activity
    return replace(member, campaigns=campaigns)


def timed_member_lists(world: World, most: int) -> st.SearchStrategy[list[Member]]:
    return st.integers(0, most).flatmap(
        lambda n: st.tuples(*(timed_members(world, i) for i in range(n))).map(list)
    )


def _window() -> st.SearchStrategy[dict[str, Any]]:
    return st.sampled_from(WINDOWS).map(lambda w: {"amount": w[0], "unit": w[1]})


def engagement_leaves(world: World) -> st.SearchStrategy[Leaf]:
    return st.builds(
        lambda activity, op, count, within: {
            "kind": "engagement",
            "activity": activity,
            "count_op": op,
            "count": count,
            "within": within,
        },
        st.sampled_from(["sent", "open", "click"]),
        st.sampled_from([">=", "<=", "==", ">", "<"]),
        st.integers(0, 3),
        st.none() | _window(),
    )


def last_activity_leaves(world: World) -> st.SearchStrategy[Leaf]:
    return st.builds(
        lambda activity, op, window: (
            {"kind": "last_activity", "activity": activity, "op": "never"}
            if op == "never"
            else {"kind": "last_activity", "activity": activity, "op": op, **window}
        ),
        st.sampled_from(["sent", "open", "click", "engaged"]),
        st.sampled_from(["in_last", "more_than_ago", "never"]),
        _window(),
    )


def segment_leaves(segment_ids: list[str]) -> Kind:
    def kind(world: World) -> st.SearchStrategy[Leaf]:
        return st.builds(
            lambda segment, op: {"kind": "segment", "segment": segment, "op": op},
            st.sampled_from(segment_ids),
            st.sampled_from(["in", "not_in"]),
        )

    return kind


def every_kind(segment_ids: list[str]) -> list[Kind]:
    """Every leaf kind of the language."""
    return [*LEAF_KINDS, engagement_leaves, last_activity_leaves, segment_leaves(segment_ids)]


def by_sql(db: Database, tenant_id: int, condition: Condition) -> set[int]:
    """The members the SQL compiler selects on the system of record."""
    with db.snapshot() as conn:
        where = compile_condition(condition, segments=store().published_sql(conn, tenant_id))
        query = sa.select(schema.members.c.id).where(schema.members.c.tenant_id == tenant_id)
        return set(conn.execute(query.where(where)).scalars())


def by_evaluator(
    condition: Condition, contacts: Mapping[int, Contact], held: Mapping[str, Collection[int]]
) -> set[int]:
    """The members the evaluator accepts, each seeing the segments that hold it."""
    return {
        member_id
        for member_id, contact in contacts.items()
        if evaluate(
            condition,
            replace(contact, segments=frozenset(s for s, ids in held.items() if member_id in ids)),
        )
    }


def by_clickhouse(
    target: Target,
    tenant_id: int,
    condition: Condition,
    list_id: int | None = None,
    members: tuple[int, int] | None = None,
    point: ReadPoint | None = None,
) -> set[int]:
    """``point``: the copy's read point, when the caller read it once for many queries of a
    copy that does not change (it costs more than the query on a small one)."""
    if point is None:
        point = read_point(target.engine, target.database, tenant_id)
    query = members_query(condition, tenant_id, target.database, point, list_id, members)
    return {int(row[0]) for row in target.engine.rows(query.sql, query.params)}


def by_clickhouse_ranges(
    target: Target,
    tenant_id: int,
    condition: Condition,
    list_id: int,
    bounds: list[int],
    point: ReadPoint | None = None,
) -> set[int]:
    """The union of the query held to each member range (lo, hi] between ``bounds``, as a
    build asks chunk by chunk (at one read point); each range's answer lies inside it."""
    if point is None:
        point = read_point(target.engine, target.database, tenant_id)
    found: set[int] = set()
    for lo, hi in itertools.pairwise(bounds):
        part = by_clickhouse(target, tenant_id, condition, list_id, (lo, hi), point)
        assert all(lo < m <= hi for m in part)
        found |= part
    return found


def load(db: Database, target: Target, tenant_id: int, batch: int = 10_000) -> dict[str, int]:
    return load_tenant(db, target, store().member_ids, tenant_id, batch=batch)
