"""Field values between the API's wire text and the inputs that show them.

A leaf's ``value`` is always the API's wire value (``03/30``, ``01/31/2024``); inputs that
speak another format (date pickers, month and day selects) convert at the edge, so what is
saved and validated is exactly what an API client would send.
"""

from __future__ import annotations

import re
from datetime import date

from ....domain.fields import DEFAULT_FORMATS, FieldDef
from ....domain.ids import ascii_int

_WIRE_DATE = re.compile(r"([0-9]{1,2})/([0-9]{1,2})/([0-9]{4})")
_WIRE_BIRTHDAY = re.compile(r"([0-9]{1,2})/([0-9]{1,2})")
_ISO_DATE = re.compile(r"([0-9]{4})-([0-9]{2})-([0-9]{2})")


def field_format(field: FieldDef | None) -> str:
    if field is None:
        return ""
    return field.format or DEFAULT_FORMATS.get(field.type, "")


def _month_first(fmt: str) -> bool:
    return not fmt.startswith("DD")


def date_to_input(wire: str, fmt: str) -> str:
    """``01/31/2024`` (MM/DD/YYYY) to the date picker's ``2024-01-31``; other text unchanged."""
    match = _WIRE_DATE.fullmatch(wire.strip())
    if not match:
        return wire
    first, second, year = int(match[1]), int(match[2]), int(match[3])
    month, day = (first, second) if _month_first(fmt) else (second, first)
    try:
        return date(year, month, day).isoformat()
    except ValueError:
        return wire


def date_to_wire(picked: str, fmt: str) -> str:
    match = _ISO_DATE.fullmatch(picked.strip())
    if not match:
        return picked
    year, month, day = match[1], match[2], match[3]
    return f"{month}/{day}/{year}" if _month_first(fmt) else f"{day}/{month}/{year}"


def birthday_parts(wire: str, fmt: str) -> tuple[int, int]:
    """(month, day) of a wire birthday; (0, 0) when it is not one."""
    match = _WIRE_BIRTHDAY.fullmatch(wire.strip())
    if not match:
        return 0, 0
    first, second = int(match[1]), int(match[2])
    return (first, second) if _month_first(fmt) else (second, first)


def birthday_to_wire(month: str, day: str, fmt: str) -> str:
    month_number, day_number = ascii_int(month, 4), ascii_int(day, 4)
    if not month_number or not day_number:
        return ""
    mm, dd = f"{month_number:02d}", f"{day_number:02d}"
    return f"{mm}/{dd}" if _month_first(fmt) else f"{dd}/{mm}"
