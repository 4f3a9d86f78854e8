"""A bound on the size of a request's head (request line and headers): 431 beyond it.

The server reads the whole head before the application sees any of it, so the bound belongs
there. ``BoundedHttpToolsProtocol`` is uvicorn's httptools protocol (what ``segmentd serve``
runs) with the bound added: llhttp hands over a header only once it has ended, and uvicorn
keeps every header of a request, so a 64 MB header was read and kept whole. It counts the
bytes of an unfinished head as they arrive and refuses as soon as they pass the limit, so a
connection never holds more than the limit and one read. uvicorn's h11 protocol has its own
bound (``h11_max_incomplete_event_size``, answered 400); the limit is read from that option,
so one setting configures both. ``HeaderSizeLimit`` enforces the same limit in the
application, for any other server that runs it.
"""

from __future__ import annotations

import json
from typing import Any

from starlette.types import ASGIApp, Receive, Scope, Send
from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

# After refusing, the rest of the head is read and thrown away for at most this long, so
# the client, still sending, reads the answer instead of a reset connection.
LINGER_SECONDS = 5.0


def too_large_body(path: bytes, limit: int) -> tuple[bytes, list[tuple[bytes, bytes]]]:
    """The 431 answer in the path's envelope: its body and headers."""
    message = f"request headers exceed {limit} bytes"
    if path.startswith(b"/v1/"):
        payload: dict[str, Any] = {"code": 30035, "message": message}
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


class BoundedHttpToolsProtocol(HttpToolsProtocol):
    """uvicorn's httptools protocol, refusing a request head over the configured limit."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.head_limit: int = self.config.h11_max_incomplete_event_size or 0
        self._head_bytes = 0
        self._in_head = True
        self._refused = False

    def data_received(self, data: bytes) -> None:
        if self._refused:
            return  # lingering: read and thrown away
        if self._in_head:
            self._head_bytes += len(data)
        super().data_received(data)
        if self._in_head and self._head_bytes > self.head_limit and not self._refused:
            self._refuse()

    def on_message_begin(self) -> None:
        if not self._refused:
            super().on_message_begin()

    def on_url(self, url: bytes) -> None:
        if not self._refused:
            super().on_url(url)

    def on_header(self, name: bytes, value: bytes) -> None:
        if not self._refused:
            super().on_header(name, value)

    def on_headers_complete(self) -> None:
        if self._refused:
            return
        self._in_head = False
        method = self.parser.get_method().decode("latin-1")
        if head_size(method, self.url, self.headers) > self.head_limit:
            self._refuse()
            return
        super().on_headers_complete()

    def on_body(self, body: bytes) -> None:
        if not self._refused:
            super().on_body(body)

    def on_message_complete(self) -> None:
        if self._refused:
            return
        super().on_message_complete()
        self._in_head, self._head_bytes = True, 0

    def _refuse(self) -> None:
        self._refused = True
        self.headers = []  # what was kept of the head goes now
        body, headers = too_large_body(self.url, self.head_limit)
        head = b"HTTP/1.1 431 Request Header Fields Too Large\r\n"
        head += b"".join(name + b": " + value + b"\r\n" for name, value in headers)
        self.transport.write(head + b"\r\n" + body)
        if self.transport.can_write_eof():
            self.transport.write_eof()
            self.loop.call_later(LINGER_SECONDS, self.transport.close)
        else:
            self.transport.close()
