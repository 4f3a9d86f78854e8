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

from starlette.responses import Response

MAX_CALLBACK_LENGTH = 128
_CALLBACK = re.compile(r"[A-Za-z_$][A-Za-z0-9_$]*", re.ASCII)

# A look-up answer depends on the visitor: never cache it, never sniff it.
NO_STORE_HEADERS = {"Cache-Control": "private, no-store", "X-Content-Type-Options": "nosniff"}
JAVASCRIPT = "text/javascript; charset=utf-8"


def is_valid_callback(name: str) -> bool:
    return len(name) <= MAX_CALLBACK_LENGTH and _CALLBACK.fullmatch(name) is not None


def jsonp_body(callback: str, payload: Any) -> bytes:
    """Exactly ``/**/callback(payload);`` (compact, ASCII-escaped JSON)."""
    if not is_valid_callback(callback):
        raise ValueError("the callback is not a plain ASCII identifier")
    data = json.dumps(payload, ensure_ascii=True, separators=(",", ":"))
    return f"/**/{callback}({data});".encode("ascii")


def jsonp_response(callback: str, payload: Any) -> Response:
    body = jsonp_body(callback, payload)
    return Response(body, headers=NO_STORE_HEADERS, media_type=JAVASCRIPT)
