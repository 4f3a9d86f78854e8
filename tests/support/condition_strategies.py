"""Hypothesis strategies for the whole condition language in the native form, and for members
whose values sit on the edges those conditions draw (day boundaries in the zone, month ends,
29 February, the turn of the year).

One strategy function per leaf kind, each taking the ``World`` the tree is read in; a new
kind adds its function to ``LEAF_KINDS`` (and, when it reads something new of a member, to
``members``). ``native_trees`` draws trees of all of them, with all, any and not at depth.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, timedelta, timezone
from functools import cache
from typing import Any

from hypothesis import strategies as st

from segmentd.domain.anniversaries import month_day
from segmentd.domain.conditions import MAX_DEPTH
from segmentd.domain.contact import CampaignActivity
from segmentd.domain.fields import SYSTEM_FIELDS, FieldDef, FieldType
from segmentd.domain.operators import NATIVE_OPERATORS, OPERATORS, Activity, NativeOp, Op
from segmentd.domain.relative_days import MAX_AMOUNT, Unit, add_months, day_number, day_start
from tests.support.condition_members import CAMPAIGNS, CUSTOM, TAGS, Member

Leaf = dict[str, Any]
Node = dict[str, Any]


@dataclass(frozen=True)
class World:
    """What a tree is read against: the day relative dates count from, the tenant's zone, and
    the ids of the tenant's campaigns (numbered apart per tenant)."""

    today: date
    tz: timezone
    campaign_offset: int = 0


# Days where calendars bite: the turn of the year, 28 and 29 February, month ends that
# clamp ("31 March minus one month").
EDGE_DAYS = [
    date(2024, 12, 20),
    date(2024, 12, 31),
    date(2025, 1, 1),
    date(2024, 2, 28),
    date(2024, 2, 29),
    date(2025, 2, 28),
    date(2025, 3, 1),
    date(2024, 3, 31),
    date(2025, 3, 31),
    date(2025, 5, 31),
    date(2026, 1, 31),
]
ZONES = [timezone(timedelta(hours=8)), timezone(timedelta(hours=-5)), UTC]


def worlds(campaign_offset: int = 0) -> st.SearchStrategy[World]:
    todays = st.sampled_from(EDGE_DAYS) | st.dates(date(2020, 1, 1), date(2030, 12, 31))
    return st.builds(World, todays, st.sampled_from(ZONES), st.just(campaign_offset))


# --- member values -------------------------------------------------------------------------

# Case, accents, LIKE wildcards and the empty string: where SQL and Python could part ways.
texts = st.text(alphabet="aAbBéÉßİ%_ .@-", max_size=5)
numbers = st.sampled_from([-2.5, -1.0, 0.0, 0.5, 1.0, 20.0, 20.25, 45.0, 1e6])
FAR_DAYS = [
    date(1, 1, 1),
    date(1969, 12, 31),
    date(2020, 2, 29),
    date(2023, 2, 28),
    date(9999, 12, 31),
]


@cache  # a world's strategy is built once: building them dominated draws
def near_days(world: World) -> st.SearchStrategy[date]:
    """Days around today, on the edges of relative periods (N days, weeks, months away),
    and a few far ones."""
    today = world.today
    by_days = st.integers(-45, 45) | st.sampled_from([-3651, -3650, -3649, -366, -365, 365, 366])
    by_months = st.tuples(st.integers(-14, 14) | st.sampled_from([-120, 120]), st.integers(-1, 1))
    return st.one_of(
        st.integers(-1, 1).map(lambda days: today + timedelta(days=days)),
        by_days.map(lambda days: today + timedelta(days=days)),
        by_months.map(lambda shift: add_months(today, shift[0]) + timedelta(days=shift[1])),
        st.sampled_from(FAR_DAYS),
    )


@cache
def birthdays(world: World) -> st.SearchStrategy[int]:
    days = st.integers(-1, 1) | st.integers(-3, 40)
    soon = days.map(lambda days: month_day(world.today + timedelta(days=days)))
    return soon | st.sampled_from([101, 228, 229, 301, 1231])


@cache
def moments(world: World) -> st.SearchStrategy[int]:
    """Epoch seconds on either side of midnight in the world's zone."""
    offsets = st.sampled_from([-1, 0, 1, 43_200, 86_399])
    return st.builds(
        lambda day, second: day_start(day, world.tz) + second, near_days(world), offsets
    )


_SENT = 1_700_000_000  # the campaign leaf reads whether, not when
activities = st.sampled_from(
    [
        None,
        CampaignActivity(sent_at=_SENT),
        CampaignActivity(sent_at=_SENT, opened_at=_SENT),
        CampaignActivity(sent_at=_SENT, opened_at=_SENT, clicked_at=_SENT),
    ]
)


@st.composite
def members(draw: st.DrawFn, world: World, index: int) -> Member:
    local = draw(st.text(alphabet="abAB", min_size=1, max_size=3))
    domain = draw(st.sampled_from(["Example.com", "test.org", "ex-ample.fr"]))
    values = {
        "Age": draw(st.none() | numbers),
        "City": draw(st.none() | texts),
        "Plan": draw(st.none() | st.sampled_from(["Free", "Pro", "pro"])),
        "Signup": draw(st.none() | near_days(world).map(day_number)),
        "Birthday": draw(st.none() | birthdays(world)),
    }
    campaigns = {}
    for number in CAMPAIGNS:
        activity = draw(activities)
        if activity is not None:
            campaigns[number] = activity
    return Member(
        email=f"{local}{index}@{domain}",
        name=draw(st.none() | texts),
        values=values,
        created_at=draw(moments(world)),
        updated_at=draw(moments(world)),
        unsubscribed_at=draw(st.none() | moments(world)),
        tags=frozenset(draw(st.sets(st.sampled_from(TAGS)))),
        campaigns=campaigns,
    )


def member_lists(world: World, most: int = 8) -> st.SearchStrategy[list[Member]]:
    return st.integers(0, most).flatmap(
        lambda n: st.tuples(*(members(world, i) for i in range(n))).map(list)
    )


# --- leaves, one strategy per kind ---------------------------------------------------------

FIELDS: tuple[FieldDef, ...] = (*CUSTOM, *SYSTEM_FIELDS)
# Short, or pieces of the members' emails: prefixes, suffixes and whole values that match.
condition_texts = st.text(alphabet="aAbBéÉ%_ .@-", max_size=2) | st.sampled_from(
    ["a", "A", "b@", "@", ".com", "EXAMPLE.com", "test.org", "ex-ample.fr", "@ex", ".fr"]
)


def _date_text(field: FieldDef, day: date) -> str:
    if field.type is FieldType.TIMESTAMP:
        return day.isoformat()
    first, second = (day.day, day.month) if field.format == "DD/MM/YYYY" else (day.month, day.day)
    return f"{first:02d}/{second:02d}/{day.year:04d}"


def _values(world: World, field: FieldDef) -> st.SearchStrategy[tuple[Any, str]]:
    """(sort key, value as written) of one condition value for ``field``."""
    if field.type is FieldType.NUMBER:
        return numbers.map(lambda number: (number, str(number)))
    if field.type in (FieldType.DATE, FieldType.TIMESTAMP):
        return near_days(world).map(lambda day: (day, _date_text(field, day)))
    if field.type is FieldType.BIRTHDAY:
        return birthdays(world).map(lambda md: (md, f"{md // 100:02d}/{md % 100:02d}"))
    if field.type is FieldType.DROPDOWN:
        return st.sampled_from(field.options).map(lambda option: (option, option))
    return condition_texts.map(lambda text: (text, text))


def _periods(unit: Unit) -> st.SearchStrategy[int]:
    small = {Unit.DAYS: 45, Unit.WEEKS: 8, Unit.MONTHS: 14}[unit]
    return st.integers(1, small) | st.just(MAX_AMOUNT[unit])


@st.composite
def _field_args(draw: st.DrawFn, world: World, field: FieldDef, op: Op | NativeOp) -> Leaf:
    values = _values(world, field)
    if isinstance(op, Op) or op in (NativeOp.STARTS_WITH, NativeOp.ENDS_WITH):
        return {"value": draw(values)[1]}
    if op in (NativeOp.IN, NativeOp.NOT_IN):
        return {"values": [value for _, value in draw(st.lists(values, min_size=1, max_size=4))]}
    if op is NativeOp.BETWEEN:
        low, high = sorted(draw(st.tuples(values, values)), key=lambda pair: pair[0])
        return {"values": [low[1], high[1]]}
    if op is NativeOp.ANNIVERSARY_IN_NEXT:
        amount = draw(st.integers(0, 40) | st.sampled_from([364, 365, 366]))
        return {"amount": amount, "unit": "days"}
    if op in (NativeOp.IN_LAST, NativeOp.MORE_THAN_AGO, NativeOp.IN_NEXT):
        unit = draw(st.sampled_from(Unit))
        return {"amount": draw(_periods(unit)), "unit": str(unit)}
    return {}


@st.composite
def field_leaves(draw: st.DrawFn, world: World) -> Leaf:
    field = draw(st.sampled_from(FIELDS))
    op = draw(st.sampled_from((*OPERATORS[field.type], *NATIVE_OPERATORS[field.type])))
    args = draw(_field_args(world, field, op))
    return {"kind": "field", "field": str(field.name), "op": str(op), **args}


def tag_leaves(world: World) -> st.SearchStrategy[Leaf]:
    return st.builds(
        lambda tag, op: {"kind": "tag", "tag": tag, "op": op},
        st.sampled_from(TAGS),
        st.sampled_from(["==", "!="]),
    )


def tag_set_leaves(world: World) -> st.SearchStrategy[Leaf]:
    return st.builds(
        lambda op, tags: {"kind": "tags", "op": op, "tags": tags},
        st.sampled_from(["any_of", "all_of", "none_of"]),
        st.lists(st.sampled_from(TAGS), min_size=1, max_size=len(TAGS), unique=True),
    )


def campaign_leaves(world: World) -> st.SearchStrategy[Leaf]:
    return st.builds(
        lambda number, activity: {
            "kind": "campaign",
            "campaign": world.campaign_offset + number,
            "activity": str(activity),
        },
        st.sampled_from(sorted(CAMPAIGNS)),
        st.sampled_from(Activity),
    )


def subscription_leaves(world: World) -> st.SearchStrategy[Leaf]:
    return st.builds(
        lambda status: {"kind": "subscription", "status": status},
        st.sampled_from(["subscribed", "unsubscribed"]),
    )


LEAF_KINDS: list[Callable[[World], st.SearchStrategy[Leaf]]] = [
    field_leaves,
    tag_leaves,
    tag_set_leaves,
    campaign_leaves,
    subscription_leaves,
]


def leaves(
    world: World, kinds: list[Callable[[World], st.SearchStrategy[Leaf]]] | None = None
) -> st.SearchStrategy[Leaf]:
    """A leaf of one of ``kinds`` (default: ``LEAF_KINDS``)."""
    return st.one_of(*(kind(world) for kind in (LEAF_KINDS if kinds is None else kinds)))


# --- trees ---------------------------------------------------------------------------------


@st.composite
def native_trees(
    draw: st.DrawFn,
    world: World,
    most_leaves: int = 12,
    kinds: list[Callable[[World], st.SearchStrategy[Leaf]]] | None = None,
) -> Node:
    """A tree whose root is a group (as ``render_native`` writes one), with all, any and not
    nested up to ``MAX_DEPTH``; its leaves of ``kinds`` (default: ``LEAF_KINDS``)."""
    budget = [most_leaves]

    def node(depth: int) -> Node:
        # depth: the level this node would be at as a group or a negation (the root is 1).
        if depth > MAX_DEPTH or budget[0] <= 1 or draw(st.integers(0, 2)) > 0:
            budget[0] -= 1
            return draw(leaves(world, kinds))
        return group(depth)

    def group(depth: int) -> Node:
        shape = draw(
            st.sampled_from(["all", "any", "not"]) if depth > 1 else st.sampled_from(["all", "any"])
        )
        if shape == "not":
            return {"not": node(depth + 1)}
        size = draw(st.integers(1, 3))
        return {shape: [node(depth + 1) for _ in range(size)]}

    return group(1)
