"""The JSONP writer: ``/**/callback(json);`` and the rules that keep it safe.

The callback is the only request text that reaches the script, so it must fully match a plain
ASCII identifier (``re.fullmatch`` with ``re.ASCII``: ``$`` in ``re.match`` would accept a
trailing newline and ``\\w`` non-ASCII letters). The ``/**/`` prefix defeats content
sniffing (Rosetta Flash); the JSON is ASCII-escaped.
"""

from __future__ import annotations

import json
import re
from typing import Any

MAX_CALLBACK_LENGTH = 128
_CALLBACK = re.compile(r"[A-Za-z_$][A-Za-z0-9_$]*", re.ASCII)

# A look-up answer depends on the visitor: never cache it, never sniff it.
NO_STORE_HEADERS = {"Cache-Control": "private, no-store", "X-Content-Type-Options": "nosniff"}
JAVASCRIPT = "text/javascript; charset=utf-8"
# The headers of every JSONP answer, as ASGI wants them (the look-up's fast path).
_RAW_HEADERS = (
    *(
        (name.lower().encode("latin-1"), value.encode("latin-1"))
        for name, value in NO_STORE_HEADERS.items()
    ),
)
_RAW_CONTENT_TYPE = (b"content-type", JAVASCRIPT.encode("latin-1"))
# Made once: ``json.dumps`` with options builds a new encoder on every call.
_ENCODER = json.JSONEncoder(ensure_ascii=True, separators=(",", ":"))


def is_valid_callback(name: str) -> bool:
    return len(name) <= MAX_CALLBACK_LENGTH and _CALLBACK.fullmatch(name) is not None


def jsonp_body(callback: str, payload: Any) -> bytes:
    """Exactly ``/**/callback(payload);`` (compact, ASCII-escaped JSON)."""
    if not is_valid_callback(callback):
        raise ValueError("the callback is not a plain ASCII identifier")
    return f"/**/{callback}({_ENCODER.encode(payload)});".encode("ascii")


def jsonp_start(body: bytes) -> dict[str, Any]:
    """The ``http.response.start`` message of a JSONP answer (no-store, nosniff)."""
    headers = [*_RAW_HEADERS, (b"content-length", b"%d" % len(body)), _RAW_CONTENT_TYPE]
    return {"type": "http.response.start", "status": 200, "headers": headers}
