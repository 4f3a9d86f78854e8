"""Engagement across campaigns, in memory: counts of campaigns in a window and the recency of
the latest event, their day boundaries in the tenant's zone, their forms and their errors."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta, timezone
from typing import Any

import pytest

from segmentd.domain.condition_types.engagement_leaf import EngagementCondition
from segmentd.domain.condition_types.last_activity_leaf import LastActivityCondition
from segmentd.domain.condition_types.leaf_types import inputs, moves_with_time, type_of
from segmentd.domain.conditions import Group, Inputs
from segmentd.domain.contact import CampaignActivity, Contact
from segmentd.domain.errors import DomainValidationError
from segmentd.domain.evaluator import evaluate
from segmentd.domain.fields import Catalog
from segmentd.domain.native_form import parse_native, render_native
from segmentd.domain.relative_days import Period, Unit, shifted
from segmentd.domain.stored_form import dump_condition, load_condition
from segmentd.domain.validation import NATIVE_FIELD_NAME, flat_condition

CATALOG = Catalog.build()
ZONE = timezone(timedelta(hours=-5))  # the tenant's: day boundaries at 05:00 UTC
TODAY = date(2024, 3, 31)


def local(day: date, hour: int = 0, second: int = 0) -> int:
    return int(datetime(day.year, day.month, day.day, hour, 0, second, tzinfo=ZONE).timestamp())


def parse(raw: Any, today: date = TODAY) -> Group:
    return parse_native(raw, CATALOG, ZONE, today=today)


def engagement(
    activity: str, count_op: str, count: int, within: tuple[int, str] | None = None
) -> dict[str, Any]:
    return {
        "kind": "engagement", "activity": activity, "count_op": count_op, "count": count,
        "within": None if within is None else {"amount": within[0], "unit": within[1]},
    }  # fmt: skip


def recency(
    activity: str, op: str, amount: int | None = None, unit: str = "days"
) -> dict[str, Any]:
    leaf = {"kind": "last_activity", "activity": activity, "op": op}
    return leaf if amount is None else {**leaf, "amount": amount, "unit": unit}


def member(*campaigns: CampaignActivity) -> Contact:
    return Contact({}, campaigns=dict(enumerate(campaigns, start=1)))


def sent(at: int) -> CampaignActivity:
    return CampaignActivity(sent_at=at)


def opened(at: int, sent_at: int | None = None) -> CampaignActivity:
    return CampaignActivity(sent_at=at if sent_at is None else sent_at, opened_at=at)


def clicked(at: int) -> CampaignActivity:
    return CampaignActivity(at, at, at)


def holds(raw: Any, contact: Contact, today: date = TODAY) -> bool:
    return evaluate(parse(raw, today), contact)


# --- the window ------------------------------------------------------------------------------


def test_the_window_starts_at_the_start_of_day_d_in_the_tenants_zone() -> None:
    """30 days before 31 March is 1 March; its first second in UTC-5 is 05:00 UTC."""
    start = local(date(2024, 3, 1))
    assert start == int(datetime(2024, 3, 1, 5, tzinfo=UTC).timestamp())
    leaf = parse(engagement("open", ">=", 1, (30, "days"))).items[0]
    assert isinstance(leaf, EngagementCondition) and leaf.since == start
    raw = engagement("open", ">=", 1, (30, "days"))
    assert holds(raw, member(opened(start)))
    assert not holds(raw, member(opened(start - 1)))
    # Late on 29 February in the zone is already 1 March in UTC: still outside.
    assert not holds(raw, member(opened(local(date(2024, 2, 29), hour=23))))


def test_a_later_day_moves_the_window() -> None:
    raw = engagement("open", ">=", 1, (30, "days"))
    was = member(opened(local(date(2024, 3, 1), hour=12)))
    assert holds(raw, was, today=TODAY)
    assert not holds(raw, was, today=TODAY + timedelta(days=1))


def test_a_time_after_today_counts_in_the_window() -> None:
    raw = engagement("open", "==", 1, (1, "days"))
    assert holds(raw, member(opened(local(TODAY + timedelta(days=3)))))


@pytest.mark.parametrize(
    ("today", "amount", "unit", "day_d"),
    [
        (date(2024, 3, 31), 1, "months", date(2024, 2, 29)),  # clamped to a leap February
        (date(2023, 3, 31), 1, "months", date(2023, 2, 28)),
        (date(2024, 1, 15), 3, "months", date(2023, 10, 15)),
        (date(2024, 3, 31), 2, "weeks", date(2024, 3, 17)),
        (date(2024, 3, 1), 1, "days", date(2024, 2, 29)),
        (date(2024, 3, 31), 120, "months", date(2014, 3, 31)),
    ],
)
def test_periods_count_back_calendar_days_weeks_and_months(
    today: date, amount: int, unit: str, day_d: date
) -> None:
    assert shifted(today, Period(amount, Unit(unit)), -1) == day_d
    leaf = parse(recency("open", "in_last", amount, unit), today).items[0]
    assert isinstance(leaf, LastActivityCondition) and leaf.since == local(day_d)


# --- counts ----------------------------------------------------------------------------------

SINCE = local(date(2024, 3, 1))


@pytest.mark.parametrize(
    ("count_op", "count", "true_for"),
    [
        (">=", 2, {2, 3}),
        (">", 2, {3}),
        ("<=", 1, {0, 1}),
        ("<", 1, {0}),
        ("==", 0, {0}),
        ("==", 2, {2}),
        (">=", 0, {0, 1, 2, 3}),
        ("<", 0, set()),
    ],
)
def test_counts_compare(count_op: str, count: int, true_for: set[int]) -> None:
    raw = engagement("open", count_op, count, (30, "days"))
    for opens in range(4):
        campaigns = [opened(SINCE + k) for k in range(opens)] + [sent(SINCE), opened(SINCE - 1)]
        assert holds(raw, member(*campaigns)) is (opens in true_for), opens


def test_missing_activity_counts_zero() -> None:
    nobody = Contact({})
    assert holds(engagement("click", "==", 0), nobody)
    assert holds(engagement("sent", "<", 3, (7, "days")), nobody)
    assert not holds(engagement("sent", ">=", 1), nobody)


def test_never_clicked() -> None:
    raw = engagement("click", "==", 0)
    assert holds(raw, member(sent(1), opened(2)))
    assert not holds(raw, member(sent(1), clicked(5)))
    # Ever: a click years ago still counts.
    assert not holds(raw, member(clicked(local(date(2001, 1, 1)))))


def test_each_campaign_counts_once_and_by_its_own_event() -> None:
    raw = engagement("sent", ">=", 3)
    assert not holds(raw, member(clicked(1), clicked(2)))  # 2 campaigns, 6 events
    assert holds(raw, member(clicked(1), opened(2), sent(3)))  # a click was sent too


def test_received_five_or_more_but_opened_none_in_the_last_90_days() -> None:
    raw = {
        "all": [
            engagement("sent", ">=", 5, (90, "days")),
            engagement("open", "==", 0, (90, "days")),
        ]
    }
    start = local(TODAY - timedelta(days=90))
    five = [sent(start + k) for k in range(5)]
    assert holds(raw, member(*five))
    assert holds(raw, member(*five, opened(start - 1)))  # opened before the window
    assert not holds(raw, member(*five[1:], opened(start + 9)))  # an open in it
    assert not holds(raw, member(*five[1:], sent(start - 1)))  # only 4 in the window
    assert not holds(raw, member(*five[:4]))


# --- recency ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("latest", "expected"),
    [
        (None, "never"),
        (SINCE - 1, "more_than_ago"),
        (SINCE, "in_last"),
        (local(TODAY, hour=23), "in_last"),
        (local(TODAY + timedelta(days=5)), "in_last"),
    ],
)
def test_in_last_more_than_ago_and_never_split_every_member(
    latest: int | None, expected: str
) -> None:
    campaigns = [opened(SINCE - 86_400 * 40)] if latest is not None else []
    if latest is not None:
        campaigns.append(opened(latest, sent_at=SINCE - 86_400 * 50))
    contact = member(sent(SINCE + 5), *campaigns)
    answers = {
        op: holds(recency("open", op, None if op == "never" else 30), contact)
        for op in ("in_last", "more_than_ago", "never")
    }
    assert answers == {op: op == expected for op in answers}


def test_not_in_the_last_60_days_is_more_than_ago_or_never() -> None:
    not_recent = {"any": [recency("open", "more_than_ago", 60), recency("open", "never")]}
    negated = {"not": recency("open", "in_last", 60)}
    long_ago = local(TODAY - timedelta(days=61))
    for contact in (Contact({}), member(opened(long_ago)), member(opened(local(TODAY)))):
        assert holds(not_recent, contact) == holds(negated, contact)
    assert not holds(recency("open", "more_than_ago", 60), Contact({}))


def test_engaged_is_the_later_of_an_open_and_a_click() -> None:
    early, late = SINCE - 10, SINCE + 10
    click_late = CampaignActivity(early, early, late)
    assert holds(recency("engaged", "in_last", 30), member(click_late))
    assert not holds(recency("open", "in_last", 30), member(click_late))
    assert holds(recency("engaged", "never"), member(sent(late)))
    assert holds(recency("sent", "in_last", 30), member(sent(late)))


# --- forms, inputs, time ---------------------------------------------------------------------

ENGAGEMENT_LEAVES = [
    engagement("open", ">=", 3, (30, "days")),
    engagement("click", "==", 0),
    engagement("sent", "<", 10_000, (520, "weeks")),
]
RECENCY_LEAVES = [
    recency("engaged", "more_than_ago", 2, "months"),
    recency("click", "in_last", 3650),
    recency("sent", "never"),
]


@pytest.mark.parametrize("leaf", ENGAGEMENT_LEAVES + RECENCY_LEAVES)
def test_native_and_stored_forms_are_the_same_and_round_trip(leaf: dict[str, Any]) -> None:
    tree = parse({"any": [leaf, {"not": leaf}]})
    stored = dump_condition(tree)
    assert stored["items"][0] == {**leaf}
    assert load_condition(stored, CATALOG, ZONE, today=TODAY) == tree
    assert render_native(stored, CATALOG) == {"any": [leaf, {"not": leaf}]}
    flat = flat_condition(stored, CATALOG)
    assert flat["items"][0]["field_name"] == NATIVE_FIELD_NAME


def test_within_may_be_left_out_and_is_stored_as_null() -> None:
    leaf = {k: v for k, v in engagement("click", "==", 0).items() if k != "within"}
    assert dump_condition(parse(leaf))["items"][0]["within"] is None


def test_what_moves_with_time_and_what_is_read() -> None:
    moving = [ENGAGEMENT_LEAVES[0], ENGAGEMENT_LEAVES[2], *RECENCY_LEAVES[:2]]
    for leaf in moving:
        assert moves_with_time(parse(leaf)), leaf
    for leaf in (ENGAGEMENT_LEAVES[1], RECENCY_LEAVES[2]):
        assert not moves_with_time(parse(leaf)), leaf
    assert inputs(parse({"all": [ENGAGEMENT_LEAVES[0], RECENCY_LEAVES[0]]})) == Inputs(
        campaigns=True
    )


@pytest.mark.parametrize(
    ("leaf", "path", "message"),
    [
        ({**engagement("open", ">=", 1), "activity": "engaged"}, "activity", "sent, open, click"),
        ({**engagement("open", ">=", 1), "activity": "unopen"}, "activity", "sent, open"),
        ({**engagement("open", ">=", 1), "count_op": "!="}, "count_op", ">=, <=, ==, >, <"),
        (engagement("open", ">=", -1), "count", "from 0 to 10000"),
        (engagement("open", ">=", 10_001), "count", "from 0 to 10000"),
        ({**engagement("open", ">=", 1), "count": True}, "count", "whole number"),
        ({**engagement("open", ">=", 1), "count": 2.0}, "count", "whole number"),
        ({**engagement("open", ">=", 1), "count": "3"}, "count", "whole number"),
        ({**engagement("open", ">=", 1), "within": 30}, "within", "null or an object"),
        (engagement("open", ">=", 1, (0, "days")), "within.amount", "from 1 to 3650 days"),
        (engagement("open", ">=", 1, (3651, "days")), "within.amount", "from 1 to 3650 days"),
        (engagement("open", ">=", 1, (521, "weeks")), "within.amount", "from 1 to 520"),
        (engagement("open", ">=", 1, (121, "months")), "within.amount", "from 1 to 120"),
        (engagement("open", ">=", 1, (1, "years")), "within.unit", "days, weeks, months"),
        (recency("open", "in_last"), "unit", "days, weeks, months"),
        ({**recency("open", "in_last", 5), "amount": None}, "amount", "from 1 to 3650"),
        (recency("opened", "never"), "activity", "sent, open, click, engaged"),
        (recency("open", "before"), "op", "in_last, more_than_ago, never"),
        (recency("open", "never", 5), "amount", "never takes no amount"),
        ({**recency("open", "never"), "unit": "days"}, "unit", "never takes no unit"),
    ],
)
def test_faults_name_their_field(leaf: dict[str, Any], path: str, message: str) -> None:
    with pytest.raises(DomainValidationError, match=message) as caught:
        parse({"all": [leaf]})
    assert caught.value.path == f"condition.all[0].{path}"
    stored = {"version": 1, "relation": "and", "items": [leaf]}
    with pytest.raises(DomainValidationError) as loaded:
        load_condition(stored, CATALOG, ZONE, today=TODAY)
    assert loaded.value.path == f"condition.items[0].{path}"


@pytest.mark.parametrize(
    ("leaf", "words"),
    [
        (ENGAGEMENT_LEAVES[0], "open campaigns >= 3 in the last 30 days"),
        (ENGAGEMENT_LEAVES[1], "click campaigns == 0 ever"),
        (RECENCY_LEAVES[0], "last engaged more than 2 months ago"),
        (RECENCY_LEAVES[1], "last click in the last 3650 days"),
        (RECENCY_LEAVES[2], "never sent"),
    ],
)
def test_leaves_describe_themselves(leaf: dict[str, Any], words: str) -> None:
    found = parse(leaf).items[0]
    assert type_of(found).describe(found) == words
