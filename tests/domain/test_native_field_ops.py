"""The native form's own field operators: what each holds for at its edges (day boundaries in
a zone that is not UTC, month ends, 29 February, the turn of the year, members without a
value), their stored form, and each limit with the path of the faulty node. The flat form
(EngageLab's) refuses them with its old message."""

from __future__ import annotations

from datetime import date, timedelta, timezone
from typing import Any

import pytest

from segmentd.domain.condition_types.leaf_types import moves_with_time
from segmentd.domain.contact import Contact
from segmentd.domain.errors import DomainValidationError
from segmentd.domain.evaluator import evaluate
from segmentd.domain.fields import Catalog, FieldDef, FieldType
from segmentd.domain.native_form import parse_native
from segmentd.domain.operators import NATIVE_OPERATORS, NativeOp
from segmentd.domain.relative_days import day_number, day_start
from segmentd.domain.stored_form import dump_condition, load_condition
from segmentd.domain.validation import (
    NATIVE_FIELD_NAME,
    SegmentType,
    flat_condition,
    parse_condition,
)

TZ = timezone(timedelta(hours=8))
CATALOG = Catalog.build(
    [
        FieldDef("Age", FieldType.NUMBER, slot=1, id=1),
        FieldDef("City", FieldType.TEXT, slot=2, id=2),
        FieldDef("Plan", FieldType.DROPDOWN, options=("Free", "Pro"), slot=3, id=3),
        FieldDef("Signup", FieldType.DATE, format="DD/MM/YYYY", slot=4, id=4),
        FieldDef("Birthday", FieldType.BIRTHDAY, slot=5, id=5),
    ]
)
KEYS = {"Age": "age", "City": "city", "Plan": "plan", "Signup": "signup", "Birthday": "birthday"}
KEYS |= {"CreateTime": "createtime", "Email": "email"}


def leaf(field: str, op: str, **args: Any) -> dict[str, Any]:
    return {"kind": "field", "field": field, "op": op, **args}


def holds(raw: dict[str, Any], value: Any, today: date = date(2025, 3, 31)) -> bool:
    tree = parse_native({"all": [raw]}, CATALOG, TZ, today=today)
    return evaluate(tree, Contact({KEYS[raw["field"]]: value}))


def fault(raw: Any, today: date = date(2025, 3, 31)) -> tuple[str, str]:
    with pytest.raises(DomainValidationError) as caught:
        parse_native(raw, CATALOG, TZ, today=today)
    return caught.value.path, caught.value.message


def at(day: date, second: int = 0) -> int:
    """An epoch second of ``day`` in the test zone (UTC+8)."""
    return day_start(day, TZ) + second


# --- relative dates ------------------------------------------------------------------------

TODAY = date(2025, 3, 31)
LAST = 86_399  # the last second of a day


def test_in_last_counts_whole_days_of_the_zone_back_from_today() -> None:
    in_last_7 = leaf("CreateTime", "in_last", amount=7, unit="days")
    assert not holds(in_last_7, at(date(2025, 3, 24), -1))  # 23:59:59 on the 23rd
    assert holds(in_last_7, at(date(2025, 3, 24)))  # 00:00:00 on the 24th: T - 7
    assert holds(in_last_7, at(TODAY, LAST))
    assert not holds(in_last_7, at(TODAY + timedelta(days=1)))  # tomorrow
    signup = leaf("Signup", "in_last", amount=7, unit="days")
    assert not holds(signup, day_number(date(2025, 3, 23)))
    assert holds(signup, day_number(date(2025, 3, 24)))
    assert holds(signup, day_number(TODAY))
    assert not holds(signup, day_number(date(2025, 4, 1)))


def test_months_clamp_to_the_month_end() -> None:
    """31 March minus one month is 28 February (2025) or 29 February (2024)."""
    month = leaf("Signup", "in_last", amount=1, unit="months")
    assert holds(month, day_number(date(2025, 2, 28)))
    assert not holds(month, day_number(date(2025, 2, 27)))
    leap = date(2024, 3, 31)
    assert holds(month, day_number(date(2024, 2, 29)), leap)
    assert not holds(month, day_number(date(2024, 2, 28)), leap)


def test_more_than_ago_is_strictly_before_the_day() -> None:
    weeks = leaf("CreateTime", "more_than_ago", amount=2, unit="weeks")  # D = 17 March
    assert holds(weeks, at(date(2025, 3, 17), -1))
    assert not holds(weeks, at(date(2025, 3, 17)))
    assert not holds(weeks, None)


def test_in_next_and_is_today() -> None:
    soon = leaf("Signup", "in_next", amount=1, unit="months")  # 31 March to 30 April
    assert [holds(soon, day_number(day)) for day in (date(2025, 3, 30), TODAY)] == [False, True]
    assert [holds(soon, day_number(d)) for d in (date(2025, 4, 30), date(2025, 5, 1))] == [
        True,
        False,
    ]
    today = leaf("CreateTime", "is_today")
    assert [holds(today, at(TODAY, s)) for s in (-1, 0, LAST, LAST + 1)] == [
        False,
        True,
        True,
        False,
    ]


def test_relative_dates_resolve_against_the_day_given_at_load() -> None:
    tree = parse_native({"all": [leaf("Signup", "is_today")]}, CATALOG, TZ, today=TODAY)
    stored = dump_condition(tree)
    assert stored["items"] == [{"kind": "field", "field": "custom:4", "op": "is_today"}]
    tomorrow = load_condition(stored, CATALOG, TZ, today=TODAY + timedelta(days=1))
    member = Contact({"signup": day_number(TODAY)})
    assert evaluate(tree, member) and not evaluate(tomorrow, member)
    assert moves_with_time(tree)


# --- anniversaries -------------------------------------------------------------------------


def test_a_29_february_birthday_comes_round_on_28_february_in_a_common_year() -> None:
    today = leaf("Birthday", "anniversary_today")
    assert holds(today, 229, date(2025, 2, 28))
    assert not holds(today, 229, date(2025, 3, 1))
    assert not holds(today, 229, date(2024, 2, 28))  # a leap year has its own 29th
    assert holds(today, 229, date(2024, 2, 29))
    assert holds(
        leaf("Signup", "anniversary_today"), day_number(date(2020, 2, 29)), date(2025, 2, 28)
    )


def test_anniversaries_wrap_at_the_turn_of_the_year() -> None:
    within_5 = leaf("Birthday", "anniversary_in_next", amount=5, unit="days")
    new_year = date(2024, 12, 30)
    assert [holds(within_5, md, new_year) for md in (1229, 1230, 1231, 101, 104, 105)] == [
        False,
        True,
        True,
        True,
        True,
        False,
    ]
    dated = leaf("Signup", "anniversary_in_next", amount=5, unit="days")
    assert holds(dated, day_number(date(1990, 1, 3)), new_year)
    assert not holds(dated, day_number(date(1990, 1, 5)), new_year)
    assert holds(leaf("Birthday", "anniversary_in_next", amount=0, unit="days"), 1230, new_year)


def test_this_month() -> None:
    month = leaf("Birthday", "anniversary_this_month")
    february = date(2025, 2, 3)
    assert [holds(month, md, february) for md in (131, 201, 228, 229, 301)] == [
        False,
        True,
        True,
        True,
        False,
    ]
    assert holds(leaf("Signup", "anniversary_this_month"), day_number(date(1999, 2, 14)), february)


# --- is_set, in, between, starts_with ------------------------------------------------------


def test_a_member_without_a_value() -> None:
    """Only is_not_set and not_in hold for a member without a value."""
    cases = [
        (leaf("City", "is_set"), False),
        (leaf("City", "is_not_set"), True),
        (leaf("City", "in", values=["a"]), False),
        (leaf("City", "not_in", values=["a"]), True),
        (leaf("City", "starts_with", value=""), False),
        (leaf("City", "ends_with", value=""), False),
        (leaf("Age", "between", values=["1", "2"]), False),
        (leaf("Signup", "in_next", amount=1, unit="days"), False),
        (leaf("Signup", "anniversary_this_month"), False),
    ]
    assert [holds(raw, None) for raw, _ in cases] == [expected for _, expected in cases]


def test_in_reads_each_value_as_the_field_does() -> None:
    assert holds(leaf("City", "in", values=["paris", "Lyon"]), "PARIS")  # ASCII case folded
    assert not holds(leaf("City", "in", values=["é"]), "É")
    assert holds(leaf("Age", "in", values=["18", "2e1"]), 20.0)
    assert holds(leaf("Signup", "in", values=["31/03/2025"]), day_number(TODAY))
    assert not holds(leaf("Plan", "not_in", values=["Pro"]), "Pro")
    assert fault({"all": [leaf("Plan", "in", values=["Free", "pro"])]}) == (
        "condition.all[0].values[1]",
        "field Plan: 'pro' must be one of the options ['Free', 'Pro']",
    )


def test_between_is_inclusive() -> None:
    ages = leaf("Age", "between", values=["18", "65"])
    assert [holds(ages, age) for age in (17.5, 18.0, 65.0, 65.5)] == [False, True, True, False]
    days = leaf("CreateTime", "between", values=["2025-03-01", "2025-03-31"])  # whole days
    assert [holds(days, at(date(2025, 3, 1), s)) for s in (-1, 0)] == [False, True]
    assert [holds(days, at(TODAY, s)) for s in (LAST, LAST + 1)] == [True, False]
    assert holds(leaf("Signup", "between", values=["01/03/2025", "01/03/2025"]), 20148.0)
    assert fault({"all": [leaf("Age", "between", values=["5", "1"])]}) == (
        "condition.all[0].values",
        "values must be [low, high] with low <= high",
    )


def test_starts_and_ends_with_fold_ascii_letters_only() -> None:
    assert holds(leaf("City", "starts_with", value="SAN"), "San José")
    assert holds(leaf("City", "ends_with", value="josé"), "San José")
    assert not holds(leaf("City", "ends_with", value="JOSÉ"), "San José")
    assert not holds(leaf("City", "ends_with", value="long text"), "text")
    assert holds(leaf("Email", "ends_with", value="@Example.com"), "ann@example.com")


# --- forms and limits ----------------------------------------------------------------------


def test_the_stored_form_of_each_shape() -> None:
    raw = {
        "all": [
            leaf("City", "is_set"),
            leaf("Age", "in", values=["1", "2"]),
            leaf("Age", "between", values=["1", "2"]),
            leaf("City", "starts_with", value=""),
            leaf("CreateTime", "in_last", amount=3, unit="months"),
            leaf("Birthday", "anniversary_in_next", amount=7, unit="days"),
        ]
    }
    stored = dump_condition(parse_native(raw, CATALOG, TZ, today=TODAY))
    assert stored["items"] == [
        {"kind": "field", "field": "custom:2", "op": "is_set"},
        {"kind": "field", "field": "custom:1", "op": "in", "values": ["1", "2"]},
        {"kind": "field", "field": "custom:1", "op": "between", "values": ["1", "2"]},
        {"kind": "field", "field": "custom:2", "op": "starts_with", "value": ""},
        {
            "kind": "field",
            "field": "system:createtime",
            "op": "in_last",
            "amount": 3,
            "unit": "months",
        },
        {
            "kind": "field",
            "field": "custom:5",
            "op": "anniversary_in_next",
            "amount": 7,
            "unit": "days",
        },
    ]
    assert load_condition(stored, CATALOG, TZ, today=TODAY) == parse_native(
        raw, CATALOG, TZ, today=TODAY
    )


BAD = "condition.all[0]"


@pytest.mark.parametrize(
    ("raw", "path", "message"),
    [
        (
            leaf("Age", "starts_with", value="1"),
            f"{BAD}.op",
            "op for field Age must be one of ==, !=, >, >=, <, <=, "
            "is_set, is_not_set, in, not_in, between",
        ),
        (leaf("Age", "nope", value="1"), f"{BAD}.op", None),
        (
            leaf("City", "in", values="a"),
            f"{BAD}.values",
            "values must be a list of 1 to 100 strings",
        ),
        (
            leaf("City", "in", values=[]),
            f"{BAD}.values",
            "values must be a list of 1 to 100 strings",
        ),
        (
            leaf("City", "in", values=["a"] * 101),
            f"{BAD}.values",
            "values must be a list of 1 to 100 strings",
        ),
        (leaf("City", "in", values=["a", 1]), f"{BAD}.values[1]", "each value must be a string"),
        (leaf("City", "in", values=["a\x00"]), f"{BAD}.values[0]", None),
        (
            leaf("Age", "in", values=["1", "x"]),
            f"{BAD}.values[1]",
            "field Age: 'x' is not a number",
        ),
        (
            leaf("Age", "between", values=["1", "2", "3"]),
            f"{BAD}.values",
            "values must be [low, high]: two strings",
        ),
        (leaf("Signup", "between", values=["1", "2"]), f"{BAD}.values[0]", None),
        (leaf("City", "starts_with"), f"{BAD}.value", "value must be a string"),
        (
            leaf("Signup", "in_last", amount=0, unit="days"),
            f"{BAD}.amount",
            "amount must be a whole number from 1 to 3650 days",
        ),
        (leaf("Signup", "in_last", amount=3651, unit="days"), f"{BAD}.amount", None),
        (
            leaf("Signup", "in_last", amount=521, unit="weeks"),
            f"{BAD}.amount",
            "amount must be a whole number from 1 to 520 weeks",
        ),
        (
            leaf("Signup", "in_next", amount=121, unit="months"),
            f"{BAD}.amount",
            "amount must be a whole number from 1 to 120 months",
        ),
        (leaf("Signup", "in_next", amount=True, unit="days"), f"{BAD}.amount", None),
        (leaf("Signup", "in_next", amount=1.0, unit="days"), f"{BAD}.amount", None),
        (
            leaf("Signup", "in_next", amount=1, unit="years"),
            f"{BAD}.unit",
            "unit must be one of days, weeks, months",
        ),
        (
            leaf("Signup", "anniversary_in_next", amount=1, unit="weeks"),
            f"{BAD}.unit",
            "unit must be one of days",
        ),
        (
            leaf("Signup", "anniversary_in_next", amount=367, unit="days"),
            f"{BAD}.amount",
            "amount must be a whole number from 0 to 366 days",
        ),
        (leaf("Birthday", "in_last", amount=1, unit="days"), f"{BAD}.op", None),
        (leaf("City", "is_today"), f"{BAD}.op", None),
    ],
)
def test_faults_name_their_node(raw: dict[str, Any], path: str, message: str | None) -> None:
    found_path, found_message = fault({"all": [raw]})
    assert found_path == path
    if message is not None:
        assert found_message == message


def test_the_operators_offered_for_each_type() -> None:
    assert NATIVE_OPERATORS[FieldType.BIRTHDAY] == (
        NativeOp.IS_SET,
        NativeOp.IS_NOT_SET,
        NativeOp.ANNIVERSARY_IN_NEXT,
        NativeOp.ANNIVERSARY_TODAY,
        NativeOp.ANNIVERSARY_THIS_MONTH,
    )
    assert NativeOp.BETWEEN in NATIVE_OPERATORS[FieldType.TIMESTAMP]
    assert NativeOp.IN not in NATIVE_OPERATORS[FieldType.TIMESTAMP]


def test_the_flat_form_refuses_them_with_its_old_message() -> None:
    flat = {"relation": "and", "items": [{"field_name": "City", "op": "is_set", "value": ""}]}
    with pytest.raises(DomainValidationError) as caught:
        parse_condition(flat, CATALOG, SegmentType.BY_FIELD, TZ)
    assert (caught.value.path, caught.value.message) == (
        "condition.items[0].op",
        "op must be one of ==, !=, >, >=, <, <=, contain, does not contain",
    )


def test_the_flat_form_shows_them_as_native_items() -> None:
    raw = {"all": [leaf("City", "==", value="Paris"), leaf("City", "is_set")]}
    flat = flat_condition(dump_condition(parse_native(raw, CATALOG, TZ, today=TODAY)), CATALOG)
    assert flat["items"] == [
        {"campaign_id": None, "field_name": "City", "op": "==", "value": "Paris"},
        {
            "campaign_id": None,
            "field_name": NATIVE_FIELD_NAME,
            "op": "==",
            "value": '{"kind":"field","field":"City","op":"is_set"}',
        },
    ]


def test_only_relative_dates_and_anniversaries_move_with_time() -> None:
    def moves(raw: dict[str, Any]) -> bool:
        return moves_with_time(parse_native({"all": [raw]}, CATALOG, TZ, today=TODAY))

    assert moves(leaf("Signup", "in_last", amount=1, unit="days"))
    assert moves(leaf("CreateTime", "is_today"))
    assert moves(leaf("Birthday", "anniversary_this_month"))
    assert not moves(leaf("Signup", "between", values=["01/01/2025", "02/01/2025"]))
    assert not moves(leaf("City", "is_set"))
    assert not moves(leaf("Signup", ">=", value="01/01/2025"))


def test_the_last_day_a_system_time_can_name() -> None:
    """9999-12-31 ends at a second no date can name; a day of a fixed zone lasts 86,400 s."""
    assert holds(leaf("CreateTime", "between", values=["2025-01-01", "9999-12-31"]), at(TODAY))
    flat = {"field_name": "CreateTime", "op": "<=", "value": "9999-12-31"}
    tree = parse_condition({"relation": "and", "items": [flat]}, CATALOG, SegmentType.BY_FIELD, TZ)
    assert evaluate(tree, Contact({"createtime": at(TODAY)}))
