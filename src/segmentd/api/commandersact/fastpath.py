"""The visitor look-up's fast path: GET requests answered in one pure ASGI middleware.

FastAPI's routing around an endpoint (the exception middleware, the exit stack, matching the
path against every route, a ``Request`` and a ``Response`` object) costs more per look-up than
the look-up itself. ``LookupFastPath`` sits inside the app's other middlewares (so the body
limit, the error middleware and any telemetry still see the request) and answers
``GET /api/dms/segmentation/segments`` itself, through the same ``routes.visitor_answer`` as
the documented route, with the same bytes and headers. Any other request goes on unchanged.
"""

from __future__ import annotations

from urllib.parse import parse_qsl

from starlette._utils import get_route_path
from starlette.types import ASGIApp, Receive, Scope, Send

from ..common.ratelimit import client_address
from .context import context_of
from .jsonp import jsonp_start
from .routes import PREFIX, Rejected, visitor_answer

LOOKUP_PATH = PREFIX + "/segments"


def parse_query(query_string: bytes) -> dict[str, str]:
    """The last value of each parameter, exactly as Starlette's ``QueryParams`` reads them
    (``parse_qsl`` with blank values kept); without ``%`` or ``+`` there is nothing to
    decode, so the string is only split."""
    text = query_string.decode("latin-1")
    if "%" in text or "+" in text:
        return dict(parse_qsl(text, keep_blank_values=True))
    query: dict[str, str] = {}
    for item in text.split("&"):
        if item:
            name, _, value = item.partition("=")
            query[name] = value
    return query


class LookupFastPath:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] != "GET" or not _is_lookup(scope):
            await self.app(scope, receive, send)
            return
        cookie = origin = referer = None
        for name, value in scope["headers"]:  # the first of each, as Starlette's Headers
            if name == b"cookie":
                cookie = cookie if cookie is not None else value.decode("latin-1")
            elif name == b"origin":
                origin = origin if origin is not None else value.decode("latin-1")
            elif name == b"referer":
                referer = referer if referer is not None else value.decode("latin-1")
        context = context_of(scope["app"].state)
        try:
            body = await visitor_answer(
                context,
                parse_query(scope["query_string"]),
                cookie,
                origin,
                referer,
                client_address(scope.get("client")),
            )
        except Rejected as rejected:
            await rejected.response()(scope, receive, send)
            return
        await send(jsonp_start(body))
        await send({"type": "http.response.body", "body": body})


def _is_lookup(scope: Scope) -> bool:
    if not scope.get("root_path"):
        return bool(scope["path"] == LOOKUP_PATH)
    return get_route_path(scope) == LOOKUP_PATH  # the path as Starlette's routing reads it
