"""Commanders Act's segmentation API over the core's segments (docs/sites.md).

``GET /api/dms/segmentation/segments`` answers JSONP with the ids of the visitor's segments;
``GET /api/dms/segmentation/segments/list`` answers JSON with the site's segments. Parameters
are read by hand (no per-request validation models) because the look-up is the hot path;
a rejected request always answers JSON, never JavaScript.
"""

from __future__ import annotations

import hmac
import logging
import re
from collections.abc import Callable, Coroutine, Mapping
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, Response
from fastapi.routing import APIRoute
from pydantic import BaseModel
from starlette.concurrency import run_in_threadpool
from starlette.requests import cookie_parser

from ...storage.sites import Site, site_segments
from ..common.family_errors import FamilyErrors
from ..common.origins import origin_allowed
from ..common.ratelimit import client_address
from ..common.site_access import LOOKUP_PREFIX
from .context import LookupContext, lookup_context
from .jsonp import JAVASCRIPT, NO_STORE_HEADERS, is_valid_callback, jsonp_body
from .walking import client_group

log = logging.getLogger("segmentd.commandersact")

PREFIX = LOOKUP_PREFIX
_SITE = re.compile(r"[0-9]{1,18}", re.ASCII)
_TCID = re.compile(r"[0-9]{1,64}", re.ASCII)
# Compared against when the site has no token yet, so timing never tells.
_NO_TOKEN = "0" * 64


class BareRoute(APIRoute):
    """Calls the endpoint with the bare ``Request``: documented in OpenAPI like any route,
    but with no dependency solving or response validation on the hot path."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        endpoint: Callable[[Request], Coroutine[Any, Any, Response]] = self.endpoint
        return endpoint


class RejectedBody(BaseModel):
    """What a rejected look-up or list request answers (never JavaScript)."""

    error: str
    message: str


def _errors(*statuses: int) -> dict[int | str, dict[str, Any]]:
    described = {
        400: "Missing or malformed parameter (missing_parameter, invalid_parameter, "
        "invalid_callback)",
        401: "tcid without the site's token, or a wrong token (token_required, invalid_token)",
        403: "The calling page's origin is not allowed (origin_not_allowed)",
        404: "No such site (unknown_site)",
        429: "This client looked up too many distinct visitors by cookie this minute "
        "(too_many_visitors); Retry-After says when it may go on",
        503: "The database could not answer (unavailable)",
    }
    answers: dict[int | str, dict[str, Any]] = {
        status: {"model": RejectedBody, "description": described[status]} for status in statuses
    }
    if 429 in answers:
        answers[429]["headers"] = {
            "Retry-After": {"description": "Seconds to wait", "schema": {"type": "integer"}}
        }
    return answers


router = APIRouter(prefix=PREFIX, tags=["Commanders Act segmentation"], route_class=BareRoute)


class Rejected(Exception):
    """A request answered with a JSON error (and no data)."""

    def __init__(
        self, status: int, error: str, message: str, headers: dict[str, str] | None = None
    ) -> None:
        super().__init__(message)
        self.status, self.error, self.message = status, error, message
        self.headers = NO_STORE_HEADERS if headers is None else NO_STORE_HEADERS | headers

    def response(self) -> JSONResponse:
        body = {"error": self.error, "message": self.message}
        retry = {"Retry-After": "1"} if self.status == 503 else {}
        return JSONResponse(body, status_code=self.status, headers=self.headers | retry)


def _param(query: Mapping[str, str], name: str) -> str | None:
    """A query parameter; an empty value counts as absent."""
    return query.get(name) or None


def _required(query: Mapping[str, str], name: str) -> str:
    value = _param(query, name)
    if value is None:
        raise Rejected(400, "missing_parameter", f"the {name} parameter is required")
    return value


def _callback(query: Mapping[str, str]) -> str:
    callback = _required(query, "callback")
    if not is_valid_callback(callback):
        raise Rejected(
            400,
            "invalid_callback",
            "callback must be an ASCII identifier of at most 128 characters",
        )
    return callback


def _site_id(query: Mapping[str, str]) -> int:
    site = _required(query, "site")
    if not _SITE.fullmatch(site):
        raise Rejected(400, "invalid_parameter", "site must be digits")
    return int(site)


async def _site(context: LookupContext, site_id: int) -> Site:
    site = await context.sites.get(site_id)
    if site is None:
        raise Rejected(404, "unknown_site", "no such site")
    return site


def _check_token(context: LookupContext, site: Site, token: str | None) -> None:
    if token is None:
        raise Rejected(401, "token_required", "a token is required")
    if not hmac.compare_digest(site.token_digest or _NO_TOKEN, context.keys.digest(token)):
        raise Rejected(401, "invalid_token", "the token is not valid for this site")


def _visitor(
    query: Mapping[str, str], cookie_header: str | None, context: LookupContext
) -> tuple[str | None, bool]:
    """(visitor id, whether it came from the tcid parameter); a bad cookie is no visitor."""
    tcid = _param(query, "tcid")
    if tcid is not None:
        if not _TCID.fullmatch(tcid):
            raise Rejected(400, "invalid_parameter", "tcid must be digits")
        return tcid, True
    if not cookie_header:
        return None, False
    cookie = cookie_parser(cookie_header).get(context.settings.tcid_cookie)
    return (cookie if cookie and _TCID.fullmatch(cookie) else None), False


def _check_walk(context: LookupContext, client: str, tcid: str) -> None:
    retry_after = context.walks.refusal(client_group(client), tcid)
    if retry_after:
        raise Rejected(
            429,
            "too_many_visitors",
            f"too many distinct visitors from this client, retry in {retry_after} s",
            {"Retry-After": str(retry_after)},
        )


def _check_origin(site: Site, origin: str | None, referer: str | None, tokened: bool) -> None:
    if not origin_allowed(site.allowed_origins, origin, referer, tokened=tokened):
        raise Rejected(403, "origin_not_allowed", "this page may not call the look-up")


async def visitor_answer(
    context: LookupContext,
    query: Mapping[str, str],
    cookie_header: str | None,
    origin: str | None,
    referer: str | None,
    client: str,
) -> bytes:
    """The JSONP body of a look-up; raises ``Rejected`` for an answer without data.

    ``query`` holds the last value of each query parameter (as Starlette's ``QueryParams``),
    the headers are the first of their name (as Starlette's ``Headers``), ``client`` is the
    client's address. Both the route and the fast path (``fastpath.LookupFastPath``) answer
    through this function.
    """
    callback = _callback(query)
    site = await _site(context, _site_id(query))
    tcid, explicit = _visitor(query, cookie_header, context)
    if explicit:
        _check_token(context, site, _param(query, "token"))
    _check_origin(site, origin, referer, tokened=explicit)
    if tcid is None:
        return jsonp_body(callback, [])
    if not explicit:  # the token's holder may ask for anyone; the cookie path is limited
        _check_walk(context, client, tcid)
    try:
        ids = await context.visitors.segment_ids(site, tcid)
    except Exception:
        log.exception("look-up failed for site %s", site.id)  # no token, no visitor id
        raise Rejected(503, "unavailable", "the look-up failed; try again") from None
    return jsonp_body(callback, ids)


# What each parameter must be, as the checks above read it (an empty value is absent).
_SCHEMAS: dict[str, dict[str, Any]] = {
    "site": {"type": "string", "pattern": f"^{_SITE.pattern}$"},
    "callback": {"type": "string", "pattern": r"^[A-Za-z_$][A-Za-z0-9_$]{0,127}$"},
    "tcid": {"type": "string", "pattern": r"^[0-9]{0,64}$"},
    "token": {"type": "string"},
}


def _parameter_docs(*names: tuple[str, bool, str]) -> dict[str, Any]:
    return {
        "parameters": [
            {"name": name, "in": "query", "required": required, "schema": _SCHEMAS[name]}
            | {"description": text}
            for name, required, text in names
        ]
    }


@router.get(
    "/segments",
    summary="Segment ids of the visitor (JSONP)",
    response_class=Response,
    responses={
        200: {
            "description": "``/**/callback([ids]);``",
            "content": {"text/javascript": {"example": '/**/tC_funcEngage(["F92C4F26"]);'}},
        },
        **_errors(400, 401, 403, 404, 429, 503),
    },
    openapi_extra=_parameter_docs(
        ("site", True, "Site id (a list id), digits"),
        ("callback", True, "JavaScript function to call: an ASCII identifier"),
        ("tcid", False, "Visitor id (digits) when cookies are off; needs token"),
        ("token", False, "The site's token (required with tcid)"),
    ),
)
async def visitor_segments(request: Request) -> Response:
    # GET requests are answered by ``fastpath.LookupFastPath`` before they reach the router;
    # this route documents the endpoint and answers whatever the fast path lets through.
    headers = request.headers
    try:
        body = await visitor_answer(
            lookup_context(request),
            request.query_params,
            headers.get("cookie"),
            headers.get("origin"),
            headers.get("referer"),
            client_address(request.client),
        )
    except Rejected as rejected:
        return rejected.response()
    return Response(body, headers=NO_STORE_HEADERS, media_type=JAVASCRIPT)


def _read_site_segments(context: LookupContext, site: Site) -> list[dict[str, str]]:
    with context.db.read() as conn:
        return [{"id": s.commandersact_id, "label": s.name} for s in site_segments(conn, site)]


@router.get(
    "/segments/list",
    summary="Segments of a site (JSON)",
    response_class=JSONResponse,
    responses={
        200: {
            "description": "The site's segments",
            "content": {
                "application/json": {"example": [{"id": "BBFAC450", "label": "prospect VIP"}]}
            },
        },
        **_errors(400, 401, 404),
    },
    openapi_extra=_parameter_docs(
        ("site", True, "Site id (a list id), digits"),
        ("token", True, "The site's token"),
    ),
)
async def site_segment_list(request: Request) -> Response:
    query = request.query_params
    try:
        context = lookup_context(request)
        site = await _site(context, _site_id(query))
        _check_token(context, site, _param(query, "token"))
    except Rejected as rejected:
        return rejected.response()
    segments = await run_in_threadpool(_read_site_segments, context, site)
    return JSONResponse(segments, headers=NO_STORE_HEADERS)


def _fault(_request: Request, status: int, error: str, message: str) -> Response:
    # Never cached, as every look-up answer.
    body = {"error": error, "message": message}
    return JSONResponse(body, status_code=status, headers=NO_STORE_HEADERS)


LOOKUP_ERRORS = FamilyErrors(prefixes=("/api/dms/",), fault=_fault)
