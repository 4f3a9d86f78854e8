"""The segment conditions the benchmarks build, in the EngageLab wire form (and the native
form, for what the wire form cannot say)."""

from __future__ import annotations

from typing import Any

FIELD, CAMPAIGN = 0, 1
CITIES = ("Paris", "Lyon", "Lima")


def item(field_name: str, op: str, value: str) -> dict[str, str]:
    return {"field_name": field_name, "op": op, "value": value}


# About half of the members each; 10 % of every field is missing, as in the data set.
ONE = [item("Age", ">=", "50")]
THREE = [
    item("Age", ">=", "30"),
    item("Color", "!=", "red"),
    item("Joined", ">", "01/01/2000"),
]
TEN = [
    item("City", "contain", "a"),
    item("Company", "!=", "company 1"),
    item("Age", ">=", "20"),
    item("Score", "<", "90"),
    item("Joined", ">", "01/01/1995"),
    item("Renewal", "<", "01/01/2027"),
    item("Birthday", "!=", "02/29"),
    item("Anniversary", ">=", "02/01"),
    item("Color", "!=", "red"),
    item("tag", "!=", "tag03"),
]


def field_condition(items: list[dict[str, str]], relation: str = "and") -> dict[str, Any]:
    return {"relation": relation, "items": items}


def opened_not_clicked(campaign_id: int) -> dict[str, Any]:
    """Opened the campaign and did not click it."""
    return {
        "relation": "and",
        "items": [
            {"field_name": "campaign", "op": "==", "value": value, "campaign_id": campaign_id}
            for value in ("open", "unclick")
        ],
    }


def realtime_conditions(count: int) -> list[dict[str, Any]]:
    """``count`` different field segments, as a tenant with many segments has."""
    shapes = [
        lambda k: [item("Age", "==", str(18 + k % 70))],
        lambda k: [item("Score", ">=", str(k % 100)), item("Plan", "==", "pro")],
        lambda k: [item("City", "==", CITIES[k % 3]), item("tag", "==", f"tag{k % 40:02d}")],
        lambda k: [item("Birthday", ">=", f"{1 + k % 12:02d}/01")],
        lambda k: [item("Color", "==", "blue"), item("Age", "<", str(20 + k))],
    ]  # fmt: skip
    return [field_condition(shapes[k % len(shapes)](k)) for k in range(count)]


def _relative(field_name: str, op: str, amount: int, unit: str) -> dict[str, Any]:
    return {"kind": "field", "field": field_name, "op": op, "amount": amount, "unit": unit}


def _leaf(kind: str, **rest: Any) -> dict[str, Any]:
    return {"kind": kind, **rest}


def time_conditions(count: int) -> list[dict[str, Any]]:
    """``count`` different time-dependent conditions in the native form: relative dates on a
    date field and on the creation time, birthdays and anniversaries, recency of opens."""
    shapes = [
        # Created in the last 7 + k days (CreateTime: the last three years).
        lambda k: {"all": [_relative("CreateTime", "in_last", 7 + k, "days")]},
        # Joined more than 52 (1 + k mod 10) weeks ago (Joined: 1990 to 2024), on the pro plan.
        lambda k: {"all": [_relative("Joined", "more_than_ago", 52 * (1 + k % 10), "weeks"),
                           _leaf("field", field="Plan", op="==", value="pro")]},
        # A birthday in the next k days.
        lambda k: {"all": [_leaf("field", field="Birthday", op="anniversary_in_next",
                                 amount=k, unit="days")]},
        # Everyone but this month's anniversaries: most members (stored as a complement).
        lambda k: {"not": _leaf("field", field="Anniversary", op="anniversary_this_month")},
        # Opened in the last 10 + k days (sends: the last 90 days), or not in the last 90
        # days and created more than 30 + k days ago.
        lambda k: {"any": [
            _leaf("last_activity", activity="open", op="in_last", amount=10 + k, unit="days"),
            {"all": [{"not": _leaf("last_activity", activity="open", op="in_last", amount=90,
                                   unit="days")},
                     _relative("CreateTime", "more_than_ago", 30 + k, "days")]},
        ]},
    ]  # fmt: skip
    return [shapes[k % len(shapes)](k) for k in range(count)]


def opened_at_least(campaigns: int, days: int) -> dict[str, Any]:
    """Native form: opened at least ``campaigns`` campaigns in the last ``days`` days."""
    window = {"amount": days, "unit": "days"}
    leaf = {"kind": "engagement", "activity": "open", "count_op": ">=", "count": campaigns}
    return {"all": [{**leaf, "within": window}]}
