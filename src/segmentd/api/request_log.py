"""Every request: a request id, a latency observation and one log line.

The request id is the incoming ``X-Request-ID`` when it is well-formed (1 to 128 letters,
digits and ``._:+/=-``), otherwise a fresh one; the response carries it back, and every log
record written while the request runs carries it (``log_setup.request_id``). The latency
goes to ``segmentd_http_request_duration_seconds`` by route *template*
(``/v1/segments/{segment_id}/freshness``, never the raw path: the labels stay bounded;
requests no route matched count as ``unmatched``), the visitor look-up's to
``segmentd_lookup_duration_seconds``. The log line (logger ``segmentd.requests``) holds the
method, route template, status and duration; never a header, a query string or a body.
Look-ups, one per page view of every tagged site, are logged at DEBUG.

Outermost, so it sees what the error middleware answered and the look-up's fast path too.
"""

from __future__ import annotations

import itertools
import logging
import os
import re
import time

from starlette.routing import Mount
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from .. import metrics
from ..log_setup import request_id
from .commandersact.fastpath import LOOKUP_PATH

HEADER = b"x-request-id"
_WELL_FORMED = re.compile(rb"[A-Za-z0-9._:+/=-]{1,128}")
UNMATCHED = "unmatched"
log = logging.getLogger("segmentd.requests")


class _Ids:
    """Request ids unique across processes and restarts: 16 random hex digits drawn once per
    process, then a counter (a fresh random id per request costs a system call each)."""

    def __init__(self) -> None:
        self.reseed()
        os.register_at_fork(after_in_child=self.reseed)

    def reseed(self) -> None:
        self.prefix = os.urandom(8).hex()
        self.counter = itertools.count(1)

    def new(self) -> str:
        return f"{self.prefix}{next(self.counter):016x}"


_ids = _Ids()


def incoming_id(scope: Scope) -> str:
    """The client's ``X-Request-ID`` when well-formed, else a new one (32 hex digits)."""
    for name, value in scope["headers"]:
        if name == HEADER:
            if _WELL_FORMED.fullmatch(value):
                return value.decode("ascii")
            break
    return _ids.new()


def route_template(scope: Scope) -> str:
    """The path template of the route that answered; a mount's (static files) is its prefix
    and ``/{path}``."""
    route = scope.get("route")
    path = getattr(route, "path", None)
    if isinstance(path, str):
        return path + "/{path}" if isinstance(route, Mount) else path
    mounted = scope.get("root_path")  # a mount's app answered: the mount is the root
    if scope.get("endpoint") is not None and isinstance(mounted, str) and mounted:
        return mounted + "/{path}"
    return LOOKUP_PATH if scope.get("path") == LOOKUP_PATH else UNMATCHED


class RequestLog:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        rid = incoming_id(scope)
        token = request_id.set(rid)
        status = 500
        encoded = rid.encode("ascii")

        async def tagged_send(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                headers = [*message.get("headers", ()), (HEADER, encoded)]
                message = {**message, "headers": headers}
            await send(message)

        try:
            await self.app(scope, receive, tagged_send)
        finally:
            seconds = time.perf_counter() - started
            _record(scope, status, seconds)
            request_id.reset(token)


def _record(scope: Scope, status: int, seconds: float) -> None:
    method = scope["method"]
    if scope["path"] == LOOKUP_PATH and method == "GET":
        metrics.observe_lookup(status, seconds)
        if not log.isEnabledFor(logging.DEBUG):
            return
        route, level = LOOKUP_PATH, logging.DEBUG
    else:
        route, level = route_template(scope), logging.INFO
        metrics.observe_request(method, route, status, seconds)
    if log.isEnabledFor(level):
        log.log(
            level,
            "%s %s %s",
            method,
            route,
            status,
            extra={
                "method": method,
                "route": route,
                "status": status,
                "duration_ms": round(seconds * 1000, 3),
            },
        )
