"""A bound on the size of a request's head (request line and headers): 431 beyond it.

The server reads the whole head before the application sees any of it, so the bound belongs
there: ``bounded_httptools.BoundedHttpToolsProtocol`` (what ``segmentd serve`` runs) is
uvicorn's httptools protocol with the bound added. llhttp hands over a header only once it
has ended and uvicorn keeps every header of a request, so a huge header would be held
whole; the bounded protocol counts the bytes of an unfinished head as they arrive and
refuses as soon as they pass the limit, so a connection never holds more than the limit and
one read. uvicorn's h11 protocol has its own bound (``h11_max_incomplete_event_size``,
answered 400); the limit is read from that option, so one setting configures both.
``HeaderSizeLimit`` enforces the same limit in the application, for any other server.
"""

from __future__ import annotations

import json
from typing import Any

from starlette.types import ASGIApp, Receive, Scope, Send

from .common.envelope import INVALID, v1_body


def too_large_body(path: bytes, limit: int) -> tuple[bytes, list[tuple[bytes, bytes]]]:
    """The 431 answer in the path's envelope: its body and headers."""
    message = f"request headers exceed {limit} bytes"
    if path.startswith(b"/v1/"):
        payload: dict[str, Any] = v1_body(path.decode("latin-1"), INVALID, message)
    else:
        payload = {"error": "headers_too_large", "message": message}
    body = json.dumps(payload).encode()
    headers = [
        (b"content-type", b"application/json"),
        (b"content-length", str(len(body)).encode()),
        (b"cache-control", b"no-store"),
        (b"connection", b"close"),
    ]
    return body, headers


def head_size(method: str, path: bytes, headers: list[tuple[bytes, bytes]]) -> int:
    """The bytes of a request head as sent (``Name: value\\r\\n`` per header)."""
    return len(method) + len(path) + 12 + sum(len(name) + len(value) + 4 for name, value in headers)


class HeaderSizeLimit:
    """Answer 431 to a request whose head exceeds ``limit`` bytes (in the application)."""

    def __init__(self, app: ASGIApp, limit: int) -> None:
        self.app = app
        self.limit = limit

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            target = scope.get("raw_path") or scope["path"].encode()
            query = scope.get("query_string") or b""
            if head_size(scope["method"], target + query, scope["headers"]) > self.limit:
                body, headers = too_large_body(scope["path"].encode(), self.limit)
                await send({"type": "http.response.start", "status": 431, "headers": headers})
                await send({"type": "http.response.body", "body": body})
                return
        await self.app(scope, receive, send)
