"""The error envelope of every ``/v1/`` API (EngageLab's and the native one):
``{"code": N, "message": "..."}`` with the HTTP status beside it. Outside EngageLab's
``/v1/marketing/`` (the native API: segments, sites, webhooks, history) it says also which
input is at fault: ``"path"``, such as ``condition.all[2].values[1]``, or null; the message
is then without EngageLab's ``[path]:`` prefix."""

from __future__ import annotations

from typing import Any

from fastapi import Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from pydantic import BaseModel, Field

from ...domain.errors import DomainValidationError, NotFound, Taken, UnknownList
from .family_errors import FamilyErrors

AUTH_FAILED = 30000
INVALID = 30035
NOT_FOUND = 30036
INTERNAL_CODE = 30500
UNAVAILABLE_CODE = 30503


class ErrorBody(BaseModel):
    """What every EngageLab-style error answers."""

    code: int
    message: str


class NativeErrorBody(BaseModel):
    """What every error of the native API (``/v1/`` outside ``/v1/marketing/``) answers."""

    code: int = Field(description="30035: invalid; 30036: not found; 30000: authentication")
    message: str
    path: str | None = Field(
        description="The offending input, e.g. condition.all[2].values[1] (null: none)"
    )


ENGAGELAB_PREFIX = "/v1/marketing/"


def names_input(url_path: str) -> bool:
    """Whether errors on this path carry ``path``: the native API, not EngageLab's."""
    return url_path.startswith("/v1/") and not url_path.startswith(ENGAGELAB_PREFIX)


def v1_body(url_path: str, code: int, message: str, node: str | None = None) -> dict[str, Any]:
    """The ``/v1/`` error body for a request to ``url_path``."""
    if names_input(url_path):
        return {"code": code, "message": message, "path": node or None}
    return {"code": code, "message": message}


class EngageLabError(Exception):
    def __init__(self, status: int, code: int, message: str, node: str | None = None) -> None:
        super().__init__(message)
        self.status, self.code, self.message, self.node = status, code, message, node


def invalid(path: str, message: str) -> EngageLabError:
    return EngageLabError(400, INVALID, f"[{path}]:{message}" if path else message, path)


def not_found(message: str = "not found") -> EngageLabError:
    return EngageLabError(404, NOT_FOUND, message)


def auth_failed() -> EngageLabError:
    return EngageLabError(401, AUTH_FAILED, "authentication failed")


def error_response(
    status: int, code: int, message: str, url_path: str = "", node: str | None = None
) -> JSONResponse:
    unauthenticated = code == AUTH_FAILED and status == 401
    headers = {"WWW-Authenticate": 'Basic realm="segmentd"'} if unauthenticated else None
    body = v1_body(url_path, code, message, node)
    return JSONResponse(body, status_code=status, headers=headers)


async def handle_engagelab_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, EngageLabError)
    message = exc.message
    if exc.node and names_input(request.url.path) and message.startswith(f"[{exc.node}]:"):
        message = message[len(exc.node) + 3 :]
    response = error_response(exc.status, exc.code, message, request.url.path, exc.node)
    retry_after = getattr(exc, "retry_after", None)
    if retry_after is not None:
        response.headers["Retry-After"] = str(retry_after)
    return response


async def handle_domain_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, DomainValidationError)
    url_path = request.url.path
    message = exc.message if names_input(url_path) else str(exc)
    return error_response(domain_error_status(exc), INVALID, message, url_path, exc.path)


def domain_error_status(exc: DomainValidationError) -> int:
    """EngageLab answers a list that does not exist with 404, still code 30035."""
    if isinstance(exc, UnknownList):
        return 404
    return 409 if isinstance(exc, Taken) else 400


async def handle_not_found(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, NotFound)
    return error_response(404, NOT_FOUND, "not found", request.url.path)


def describe_validation_error(exc: RequestValidationError) -> str:
    """The first pydantic error as ``[field]:reason``, the way EngageLab words its errors."""
    errors: list[Any] = list(exc.errors())
    if not errors:
        return "invalid request"
    first = errors[0]
    location = [str(part) for part in first.get("loc", ()) if part not in ("body", "query", "path")]
    path = ".".join(location)
    reason = first.get("msg", "invalid value")
    if first.get("type") == "json_invalid":
        return "request body is not valid JSON"
    return f"[{path}]:{reason}" if path else reason


_DESCRIPTIONS = {
    400: "Validation failed (code 30035)",
    401: "Authentication failed (code 30000)",
    404: "Not found (code 30036)",
    413: "Request body too large (code 30035)",
    429: "Too many failed authentications (code 30000)",
}
# EngageLab's routes.
ERROR_RESPONSES: dict[int | str, dict[str, Any]] = {
    status: {"model": ErrorBody, "description": text} for status, text in _DESCRIPTIONS.items()
}
# The native API's routes: the same, with ``path``.
NATIVE_ERROR_RESPONSES: dict[int | str, dict[str, Any]] = {
    status: {"model": NativeErrorBody, "description": text}
    for status, text in _DESCRIPTIONS.items()
}


def _fault(request: Request, status: int, _error: str, message: str) -> Response:
    code = UNAVAILABLE_CODE if status == 503 else INTERNAL_CODE
    return JSONResponse(v1_body(request.scope["path"], code, message), status_code=status)


def _refused(request: Request, message: str) -> Response:
    return error_response(400, INVALID, message, request.url.path)


# Every /v1/ path answers in this envelope: EngageLab's API and the native one.
V1_ERRORS = FamilyErrors(prefixes=("/v1/",), fault=_fault, refused=_refused)
