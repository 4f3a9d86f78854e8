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


def _field(field_name: str, op: str, value: str) -> dict[str, Any]:
    return {"kind": "field", "field": field_name, "op": op, "value": value}


def _within(activity: str, count_op: str, count: int, days: int) -> dict[str, Any]:
    window = {"amount": days, "unit": "days"}
    return _leaf("engagement", activity=activity, count_op=count_op, count=count, within=window)


def tree_of_15(days: int) -> dict[str, Any]:
    """Native form: a three-level tree (all > any > all) of 15 leaves of every common kind:
    fields, a tag list, relative dates, a birthday, engagement and subscription. ``days``:
    the data set's 90 days of activity, in days before today."""
    return {"all": [
        {"any": [
            {"all": [_field("Age", ">=", "30"), _field("Color", "!=", "red")]},
            {"all": [_field("Plan", "==", "pro"), _field("Score", ">=", "50")]},
            _leaf("tags", op="any_of", tags=["tag01", "tag02", "tag03"]),
        ]},
        {"any": [
            {"all": [_leaf("field", field="City", op="in", values=list(CITIES[:2])),
                     _relative("Joined", "more_than_ago", 60, "months")]},
            {"all": [_leaf("field", field="Birthday", op="anniversary_in_next", amount=180,
                           unit="days"),
                     _leaf("tag", tag="tag05", op="!=")]},
            _within("open", ">=", 1, days),
        ]},
        {"not": {"any": [
            {"all": [_leaf("field", field="Company", op="starts_with", value="company 9"),
                     _leaf("field", field="Age", op="between", values=["60", "90"])]},
            _leaf("subscription", status="unsubscribed"),
            _within("click", ">=", 3, days),
        ]}},
    ]}  # fmt: skip


def in_one_not_other(first: str, second: str) -> dict[str, Any]:
    """Native form: in segment ``first`` and not in segment ``second``."""
    return {"all": [
        _leaf("segment", segment=first, op="in"),
        {"not": _leaf("segment", segment=second, op="in")},
    ]}  # fmt: skip


def mixed_conditions(count: int, days: int, refs: list[str]) -> list[dict[str, Any]]:
    """``count`` native conditions of every kind the real-time updates follow: fields, tags,
    engagement counts, last activity, segment references and relative dates, most of them
    reading Age too (the field the upsert figures change). ``days``: the data set's 90 days
    of activity, in days before today; ``refs``: the ids of segments to refer to."""

    def age(k: int) -> dict[str, Any]:
        return _field("Age", ">=", str(18 + k % 60))

    shapes = [
        lambda k: {"all": [_field("Age", "==", str(18 + k % 70))]},
        lambda k: {"all": [_field("Score", ">=", str(k % 100)), _field("Plan", "==", "pro")]},
        lambda k: {"all": [_leaf("tags", op="any_of", tags=[f"tag{k % 40:02d}",
                                                            f"tag{(k + 7) % 40:02d}"]), age(k)]},
        lambda k: {"any": [_field("City", "==", CITIES[k % 3]),
                           _leaf("tags", op="none_of", tags=[f"tag{k % 40:02d}"])]},
        lambda k: {"all": [_within("open", ">=", 1 + k % 3, days - 60 + k), age(k)]},
        lambda k: {"all": [_leaf("last_activity", activity="open", op="in_last",
                                 amount=days - 80 + k, unit="days"), age(k)]},
        lambda k: {"all": [_leaf("segment", segment=refs[k % len(refs)], op="in"), age(k)]},
        lambda k: {"any": [{"not": _leaf("segment", segment=refs[(k + 1) % len(refs)],
                                         op="in")}, _field("Age", "<", str(20 + k))]},
        lambda k: {"all": [_relative("CreateTime", "in_last", 30 + k, "days"), age(k)]},
        lambda k: {"all": [_leaf("field", field="Birthday", op="anniversary_in_next",
                                 amount=k, unit="days"), age(k)]},
    ]  # fmt: skip
    return [shapes[k % len(shapes)](k) for k in range(count)]
