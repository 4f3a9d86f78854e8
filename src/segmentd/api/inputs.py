"""Every request's strings checked once, where they enter: path and query parameters and JSON
bodies are held to the rule of ``domain.text`` before any endpoint runs.

Registered as an app-wide dependency, so every route (present and future) is covered; routes
that read their body themselves (CSV uploads, UI forms) check it where they read it.
"""

from __future__ import annotations

import json
import re

from fastapi import Request
from fastapi.responses import Response
from fastapi.routing import APIRoute

from ..domain.errors import DomainValidationError
from ..domain.text import first_text_problem, printable, text_problem
from .common.family_errors import family_errors

# The only JSON spellings of NUL and of a surrogate are \u escapes (JSON forbids a raw NUL in a
# string, and UTF-8 cannot encode a surrogate): a body without one needs no walk.
_ESCAPE = re.compile(rb"\\u(?:0000|[dD][89a-fA-F])")
_JSON_TYPES = ("application/json",)


class InputRefused(DomainValidationError):
    """A string of the request that cannot be stored (NUL, lone surrogate), or a query
    parameter the route does not take."""


async def check_request_text(request: Request) -> None:
    """Refuse a request whose path, query or JSON body holds a string that cannot be stored."""
    for name, value in request.path_params.items():
        _check(value, name)
    known = _query_names(request)
    for name, value in request.query_params.multi_items():
        _check(name, printable(name))
        _check(value, printable(name))
        if known is not None and name not in known:
            raise InputRefused(printable(name), "unknown query parameter")
    if _has_json_body(request):
        body = await request.body()
        if _ESCAPE.search(body):
            parsed = await request.json()
            found = None if _storable(parsed) else first_text_problem(parsed)
            if found is not None:
                raise InputRefused(*found)


def _storable(parsed: object) -> bool:
    """A quick yes for the common case (escaped emoji are surrogate pairs, which are fine),
    cheaper than walking every string with its path, which only a refusal needs."""
    text = json.dumps(parsed, ensure_ascii=False)
    try:
        text.encode("utf-8")  # fails on a lone surrogate
    except UnicodeEncodeError:
        return False
    return "\\u0000" not in text  # how json.dumps writes NUL (a false alarm only costs a walk)


def _check(value: object, path: str) -> None:
    problem = text_problem(value) if isinstance(value, str) else None
    if problem is not None:
        raise InputRefused(path, problem)


def _query_names(request: Request) -> frozenset[str] | None:
    """The query parameters an API route declares (None where undeclared ones are read by
    hand, as the UI does): the API refuses any other, as its OpenAPI document says."""
    route = request.scope.get("route")
    if not isinstance(route, APIRoute) or not request.url.path.startswith("/v1/"):
        return None
    names: frozenset[str] | None = getattr(route, _DECLARED, None)
    if names is None:
        found: set[str] = set()
        pending = [route.dependant]
        while pending:  # the route's own parameters and those of its dependencies
            dependant = pending.pop()
            found.update(param.alias for param in dependant.query_params)
            pending.extend(dependant.dependencies)
        names = frozenset(found)
        setattr(route, _DECLARED, names)  # routes are not hashable: kept on the route
    return names


_DECLARED = "_segmentd_query_names"


def _has_json_body(request: Request) -> bool:
    """Whether the route takes a JSON body (FastAPI has then read and parsed it already)."""
    route = request.scope.get("route")
    if getattr(route, "body_field", None) is None:
        return False
    content_type = request.headers.get("content-type", "application/json").lower()
    media = content_type.split(";", 1)[0].strip()
    return media in _JSON_TYPES or media.endswith("+json")


async def on_input_refused(request: Request, exc: Exception) -> Response:
    """The 400 in the envelope of the API family the path belongs to."""
    assert isinstance(exc, InputRefused)
    return family_errors(request).refused(request, str(exc))
