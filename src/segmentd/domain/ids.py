"""The integers a client may send to name a row or a position: 0 or 1 to 2^53 - 1.

Every such integer reaches a query, so it must fit the databases' BIGINT (a larger one would
overflow the driver). The bound is tighter than BIGINT on purpose: 2^53 - 1 is the largest
integer every JSON reader holds exactly (I-JSON, RFC 7493; JavaScript's MAX_SAFE_INTEGER), so
clients, generated SDKs and schema validators all agree on where the range ends.
"""

from __future__ import annotations

from typing import Any

MAX_ID = 2**53 - 1
MAX_OFFSET = MAX_ID


def as_id(raw: Any) -> int | None:
    """An id sent as a JSON number or a string of ASCII digits; None when it cannot be one."""
    if isinstance(raw, bool):
        return None
    if isinstance(raw, float) and raw.is_integer():
        raw = int(raw)  # JSON's 5.0 is the integer 5
    if isinstance(raw, str) and raw.isascii() and raw.isdecimal() and len(raw) <= 15:
        raw = int(raw)
    return raw if isinstance(raw, int) and 0 < raw <= MAX_ID else None


def ascii_int(text: str, max_digits: int = 18) -> int | None:
    """A non-negative integer written in at most ``max_digits`` ASCII digits, else None
    (``str.isdigit`` and ``int`` also accept other scripts' digits, and any length)."""
    if text.isascii() and text.isdigit() and len(text) <= max_digits:
        return int(text)
    return None
