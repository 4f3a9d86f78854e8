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


def opened_at_least(campaigns: int, days: int) -> dict[str, Any]:
    """Native form: opened at least ``campaigns`` campaigns in the last ``days`` days."""
    window = {"amount": days, "unit": "days"}
    leaf = {"kind": "engagement", "activity": "open", "count_op": ">=", "count": campaigns}
    return {"all": [{**leaf, "within": window}]}
