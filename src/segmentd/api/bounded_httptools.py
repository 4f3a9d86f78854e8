"""uvicorn's httptools protocol with a bound on the request head (``api.header_limit``).

Its own module: it imports httptools, which ``segmentd serve`` uses only when installed.
"""

from __future__ import annotations

from typing import Any

from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

from .header_limit import head_size, too_large_body

# After refusing, the rest of the head is read and thrown away for at most this long, so
# the client, still sending, reads the answer instead of a reset connection.
LINGER_SECONDS = 5.0


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
        if self.transport.is_closing():
            return  # uvicorn already answered (a malformed request)
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
