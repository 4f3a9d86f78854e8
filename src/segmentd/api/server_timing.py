"""A ``Server-Timing`` header on every response of the application: its time, in milliseconds.

It runs from the moment the request reaches the application to the start of its response,
so a client (or the benchmark) can tell the server's share of a request's time from the
network's and its own; browsers show it in their developer tools. The visitor look-up's fast
path answers before it (its hot path carries nothing it does not need).
"""

from __future__ import annotations

import time

from starlette.types import ASGIApp, Message, Receive, Scope, Send

HEADER = b"server-timing"


class ServerTiming:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()

        async def timed_send(message: Message) -> None:
            if message["type"] == "http.response.start":
                elapsed = (time.perf_counter() - started) * 1000
                headers = list(message.get("headers", ()))
                headers.append((HEADER, f"app;dur={elapsed:.3f}".encode()))
                message = {**message, "headers": headers}
            await send(message)

        await self.app(scope, receive, timed_send)


def app_milliseconds(header: str) -> float:
    """The ``app`` duration of a ``Server-Timing`` header value."""
    for metric in header.split(","):
        name, _, params = metric.strip().partition(";")
        if name == "app":
            for param in params.split(";"):
                key, _, value = param.strip().partition("=")
                if key == "dur":
                    return float(value)
    raise ValueError(f"no app duration in Server-Timing: {header!r}")
