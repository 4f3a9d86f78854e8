"""Number values are stored exactly as written or refused, never rounded; only ASCII digits
are numbers (member values and condition values alike, both databases)."""

from __future__ import annotations

import httpx
import pytest

from segmentd.domain.values import parse_birthday, parse_date, parse_number
from tests.support.ingest_helpers import SEGMENTS, make_field, ok, upsert

ACCEPTED = {
    "12": 12.0,
    "-3.5": -3.5,
    ".5": 0.5,
    "1e3": 1000.0,
    "0": 0.0,
    "-0.000": 0.0,
    "123456789012345": 123456789012345.0,
    "0.000000000000000123456789012345": 1.23456789012345e-16,
    "100000000000000000000": 1e20,
    "1e-307": 1e-307,
    "9.99999999999999e307": 9.99999999999999e307,
}
REFUSED = [
    "99999999999999999999999999999",  # stored as 99999999999999991433150857216 before
    "1234567890123456",
    "0.1234567890123456",
    "1e-400",  # stored as 0 before
    "1e-308",
    "1e308",
    "1e400",
    "\u0661\u0662",  # Arabic-Indic 12
    "\uff11",  # full-width 1
    "1\u0663",
    ".",
    "e5",
    "",
    "1e",
]


@pytest.mark.parametrize(("text", "number"), ACCEPTED.items())
def test_numbers_held_exactly_are_accepted(text: str, number: float) -> None:
    assert parse_number(text) == number
    # Read back to 15 significant digits, the value is the one written.
    assert float(f"{parse_number(text):.15g}") == float(text)


@pytest.mark.parametrize("text", REFUSED)
def test_numbers_that_would_change_are_refused(text: str) -> None:
    with pytest.raises(ValueError):
        parse_number(text)


@pytest.mark.parametrize("text", ["\u0660\u0661/02/2020", "01/02/\u0662\u0660\u0662\u0660"])
def test_dates_take_ascii_digits_only(text: str) -> None:
    with pytest.raises(ValueError):
        parse_date(text, "MM/DD/YYYY")


def test_birthdays_take_ascii_digits_only() -> None:
    with pytest.raises(ValueError):
        parse_birthday("\u0660\u0661/02", "MM/DD")
    assert parse_birthday("01/02", "MM/DD") == 102


def test_member_values_are_refused_not_rounded(client: httpx.Client) -> None:
    make_field(client, "Score", 1)
    rows = [
        {"email": f"n{index}@example.com", "fields": {"Score": text}}
        for index, text in enumerate(["99999999999999999999999999999", "1e-400", "\u0661\u0662"])
    ]
    rows.append({"email": "ok@example.com", "fields": {"Score": "123456789012345"}})
    result = upsert(client, rows)
    assert [error["index"] for error in result["errors"]] == [0, 1, 2]
    assert result["created"] == 1
    members = ok(client.get("/v1/marketing/lists/members", params={"limit": 100}))["result"]
    assert [(m["email"], m["fields"]["Score"]) for m in members] == [
        ("ok@example.com", "123456789012345")
    ]


@pytest.mark.parametrize("value", ["99999999999999999999999999999", "1e-400", "\u0661\u0662"])
def test_condition_values_are_refused_not_rounded(client: httpx.Client, value: str) -> None:
    make_field(client, "Score", 1)
    condition = {"relation": "and", "items": [{"field_name": "Score", "op": ">", "value": value}]}
    answer = client.post(SEGMENTS, json={"segment_name": "Big", "type": 0, "condition": condition})
    assert answer.status_code == 400, answer.text
    assert answer.json()["code"] == 30035
    assert answer.json()["message"].startswith("[condition.items[0].value]:")
