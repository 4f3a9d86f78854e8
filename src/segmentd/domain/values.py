"""Parsing and formatting of field values.

Typed values are what storage keeps and what both back-ends compare:
numbers are floats, dates are days since 1970-01-01, birthdays are ``month * 100 + day``,
timestamps are epoch seconds, text and dropdown values are strings.
"""

from __future__ import annotations

import math
import re
from datetime import UTC, date, datetime, timedelta, timezone

from .fields import DEFAULT_FORMATS, FieldDef, FieldType

EPOCH = date(1970, 1, 1)
# ASCII digits only: Python's \d, int() and float() also read Arabic-Indic and other digits.
_NUMBER = re.compile(r"[+-]?(?P<int>[0-9]*)(?:\.(?P<frac>[0-9]*))?(?:[eE](?P<exp>[+-]?[0-9]+))?")
_DATE_PARTS = re.compile(r"([0-9]{1,2})/([0-9]{1,2})/([0-9]{4})")
_BIRTHDAY_PARTS = re.compile(r"([0-9]{1,2})/([0-9]{1,2})")
_DAY = re.compile(r"([0-9]{4})-([0-9]{2})-([0-9]{2})")
# A float64 holds every decimal of at most 15 significant digits exactly as written (it reads
# back the same); a normal float's decimal exponent runs from -307 to 308.
MAX_SIGNIFICANT_DIGITS = 15
MIN_EXPONENT, MAX_EXPONENT = -307, 307
_LEAP_YEAR = 2000
SECONDS_PER_DAY = 86_400  # lets 02/29 be a valid birthday

Typed = str | float | int


def parse_number(text: str) -> float:
    """A decimal number of ASCII digits that a float64 holds exactly as written: at most 15
    significant digits, and 0 or a magnitude from 1e-307 to under 1e308. Anything else is
    refused rather than rounded."""
    match = _NUMBER.fullmatch(text.strip())
    if not match or not (match["int"] or match["frac"]):
        raise ValueError(f"{text!r} is not a number")
    digits = (match["int"] + (match["frac"] or "")).lstrip("0")
    significant = digits.rstrip("0")
    if len(significant) > MAX_SIGNIFICANT_DIGITS:
        raise ValueError(
            f"{text!r} has more than {MAX_SIGNIFICANT_DIGITS} significant digits: "
            "it cannot be stored exactly"
        )
    if significant:
        # The decimal exponent of the first significant digit.
        exponent = int(match["exp"] or 0) + len(match["int"].lstrip("0")) - 1
        if not match["int"].lstrip("0"):
            exponent -= len(match["frac"] or "") - len((match["frac"] or "").lstrip("0"))
        if not MIN_EXPONENT <= exponent <= MAX_EXPONENT:
            raise ValueError(f"{text!r} is out of range (1e-307 to 1e308 in magnitude)")
    number = float(match[0])
    if not math.isfinite(number):
        raise ValueError(f"{text!r} is not a finite number")
    return number


def _month_day_order(fmt: str, first: int, second: int) -> tuple[int, int]:
    return (first, second) if fmt.startswith("MM") else (second, first)


def parse_date(text: str, fmt: str) -> int:
    match = _DATE_PARTS.fullmatch(text.strip())
    if not match:
        raise ValueError(f"{text!r} is not a date in the format {fmt}")
    month, day = _month_day_order(fmt, int(match[1]), int(match[2]))
    try:
        return (date(int(match[3]), month, day) - EPOCH).days
    except ValueError:
        raise ValueError(f"{text!r} is not a valid date in the format {fmt}") from None


def parse_birthday(text: str, fmt: str) -> int:
    match = _BIRTHDAY_PARTS.fullmatch(text.strip())
    if not match:
        raise ValueError(f"{text!r} is not a birthday in the format {fmt}")
    month, day = _month_day_order(fmt, int(match[1]), int(match[2]))
    try:
        date(_LEAP_YEAR, month, day)
    except ValueError:
        raise ValueError(f"{text!r} is not a valid birthday in the format {fmt}") from None
    return month * 100 + day


def parse_day_bounds(text: str, tz: timezone) -> tuple[int, int]:
    """A ``YYYY-MM-DD`` day in zone ``tz`` as the epoch-second range [start, end)."""
    match = _DAY.fullmatch(text.strip())
    if not match:
        raise ValueError(f"{text!r} is not a day in the format YYYY-MM-DD")
    try:
        start = int(datetime(int(match[1]), int(match[2]), int(match[3]), tzinfo=tz).timestamp())
    except ValueError:
        raise ValueError(f"{text!r} is not a valid day") from None
    # A zone of fixed offset: every day lasts as long (adding a day to 9999-12-31 overflows).
    return start, start + SECONDS_PER_DAY


def parse_field_value(field: FieldDef, text: str) -> Typed:
    """Parse a member's value for ``field`` as sent by a client (always a string)."""
    fmt = field.format or DEFAULT_FORMATS.get(field.type, "")
    match field.type:
        case FieldType.NUMBER:
            return parse_number(text)
        case FieldType.DATE:
            return parse_date(text, fmt)
        case FieldType.BIRTHDAY:
            return parse_birthday(text, fmt)
        case FieldType.DROPDOWN:
            if text not in field.options:
                raise ValueError(f"{text!r} must be one of the options {list(field.options)}")
            return text
        case FieldType.TIMESTAMP:
            raise ValueError("system times cannot be set")
        case _:
            return text


def format_field_value(field: FieldDef, value: Typed | None) -> str | None:
    """The string a client sees for a stored typed value, in the field's own format."""
    if value is None:
        return None
    fmt = field.format or DEFAULT_FORMATS.get(field.type, "")
    match field.type:
        case FieldType.NUMBER:
            decimals = len(fmt) - 1 if fmt.startswith(".") else 0
            return f"{float(value):.{decimals}f}"
        case FieldType.DATE:
            day = EPOCH + timedelta(days=int(value))
            first, second = (day.month, day.day) if fmt.startswith("MM") else (day.day, day.month)
            return f"{first:02d}/{second:02d}/{day.year:04d}"
        case FieldType.BIRTHDAY:
            month, day_of_month = divmod(int(value), 100)
            first, second = (month, day_of_month) if fmt.startswith("MM") else (day_of_month, month)
            return f"{first:02d}/{second:02d}"
        case FieldType.TIMESTAMP:
            return datetime.fromtimestamp(int(value), UTC).isoformat()
        case _:
            return str(value)
