"""The OpenAPI document, made truthful: segmentd answers bad input with 400, never 422."""

from __future__ import annotations

import re
from typing import Any

from fastapi import FastAPI
from fastapi.openapi.utils import get_openapi

ENGAGELAB_ERROR = {
    "type": "object",
    "required": ["code", "message"],
    "properties": {"code": {"type": "integer"}, "message": {"type": "string"}},
}
NATIVE_ERROR = {
    "type": "object",
    "required": ["error", "message"],
    "properties": {"error": {"type": "string"}, "message": {"type": "string"}},
}


def _error_response(path: str) -> dict[str, Any]:
    schema = ENGAGELAB_ERROR if path.startswith("/v1/") else NATIVE_ERROR
    return {
        "description": "Invalid request",
        "content": {"application/json": {"schema": schema}},
    }


def _replace_422(document: dict[str, Any]) -> None:
    for path, operations in document.get("paths", {}).items():
        for operation in operations.values():
            responses = operation.get("responses", {})
            if responses.pop("422", None) is not None:
                responses.setdefault("400", _error_response(path))
    schemas = document.get("components", {}).get("schemas", {})
    for unused in ("HTTPValidationError", "ValidationError"):
        schemas.pop(unused, None)


# Answers any operation may give, whatever its own: see api.faults and api.header_limit.
SERVER_RESPONSES = {
    "431": "Request headers too large (EngageLab code 30035)",
    "500": "Unexpected error: a defect, logged by the server (EngageLab code 30500)",
    "503": "The database is unavailable; see the message and Retry-After (EngageLab code "
    "30503, look-up and native error unavailable)",
}


def _add_server_responses(document: dict[str, Any]) -> None:
    for path, operations in document.get("paths", {}).items():
        schema = ENGAGELAB_ERROR if path.startswith("/v1/") else NATIVE_ERROR
        for operation in operations.values():
            responses = operation.setdefault("responses", {})
            for status, description in SERVER_RESPONSES.items():
                response: dict[str, Any] = {
                    "description": description,
                    "content": {"application/json": {"schema": schema}},
                }
                if status == "503":
                    response["headers"] = {
                        "Retry-After": {"description": "seconds", "schema": {"type": "integer"}}
                    }
                responses.setdefault(status, response)


def install_openapi(app: FastAPI) -> None:
    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            document = get_openapi(
                title=app.title,
                version=app.version,
                description=app.description,
                routes=app.routes,
                tags=app.openapi_tags,
            )
            _replace_422(document)
            _add_server_responses(document)
            app.openapi_schema = document
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]


def allowed_methods(document: dict[str, Any], path: str) -> list[str]:
    """The methods the document lists for ``path``, for the ``Allow`` header of a 405.

    Starlette names only the methods of the first route whose path matched; a path served by
    several routes (GET and POST apart) needs them all. The most literal template wins:
    ``/members/unsubscribe`` is not ``/members/{member_id}``.
    """
    matches = [
        template
        for template in document.get("paths", {})
        if re.fullmatch(re.sub(r"\\{[^}]+\\}", "[^/]+", re.escape(template)), path)
    ]
    if not matches:
        return []
    best = min(matches, key=lambda template: template.count("{"))
    return sorted(method.upper() for method in document["paths"][best])
