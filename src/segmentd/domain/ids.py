"""What a number naming a stored row may be: the databases' signed 64-bit integers.

Ids, offsets and any other integer a client sends that reaches a query must fit BIGINT
(SQLite's INTEGER is the same); a larger one cannot name anything and would overflow the driver.
"""

from __future__ import annotations

from typing import Any

MAX_ID = 2**63 - 1  # the largest BIGINT
MAX_OFFSET = MAX_ID


def as_id(raw: Any) -> int | None:
    """An id sent as a JSON number or a string of ASCII digits; None when it cannot be one."""
    if isinstance(raw, bool):
        return None
    if isinstance(raw, str) and raw.isascii() and raw.isdecimal() and len(raw) <= 18:
        raw = int(raw)
    return raw if isinstance(raw, int) and 0 < raw <= MAX_ID else None


def ascii_int(text: str, max_digits: int = 18) -> int | None:
    """A non-negative integer written in at most ``max_digits`` ASCII digits, else None
    (``str.isdigit`` and ``int`` also accept other scripts' digits, and any length)."""
    if text.isascii() and text.isdigit() and len(text) <= max_digits:
        return int(text)
    return None
