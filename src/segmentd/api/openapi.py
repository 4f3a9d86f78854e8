"""The OpenAPI document, made truthful: segmentd answers bad input with 400, never 422."""

from __future__ import annotations

import copy
import re
from typing import Any

from fastapi import FastAPI
from fastapi.openapi.utils import get_openapi

from .common.schema_parts import TEXT_PATTERN

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


# Answers any operation may give, whatever its own: see api.fault_answers and api.header_limit.
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


def _require_bodies(document: dict[str, Any]) -> None:
    """A body typed ``Model | None`` (so that a missing body gets the API's own message) is
    required when its model has required properties: say so, without the ``null``."""
    schemas = document.get("components", {}).get("schemas", {})
    for operations in document.get("paths", {}).values():
        for operation in operations.values():
            content = operation.get("requestBody", {}).get("content", {})
            media = content.get("application/json")
            choices = (media or {}).get("schema", {}).get("anyOf", [])
            refs = [choice for choice in choices if "$ref" in choice]
            if len(refs) != 1 or len(choices) != 2:
                continue
            model = schemas.get(refs[0]["$ref"].rsplit("/", 1)[-1], {})
            if model.get("required"):
                media["schema"] = refs[0]
                operation["requestBody"]["required"] = True


INPUT_RULES = (
    "Every string of a request (path, query, JSON keys and values) holds no NUL character "
    "and no lone surrogate (\\ud800 to \\udfff); patterns state the first, JSON Schema "
    "cannot state the second. /v1/ endpoints refuse query parameters they do not list."
)
STORABLE_JSON = "StorableJson"
_STORABLE_REF = {"$ref": f"#/components/schemas/{STORABLE_JSON}"}
# Any JSON value whose strings (keys included) follow the text rule.
_STORABLE_SCHEMA = {
    "description": "Any JSON value whose strings and keys hold no NUL and no lone surrogate",
    "anyOf": [
        {"type": "string", "pattern": TEXT_PATTERN},
        {"type": ["number", "boolean", "null"]},
        {"type": "array", "items": _STORABLE_REF},
        {
            "type": "object",
            "propertyNames": {"pattern": TEXT_PATTERN},
            "additionalProperties": _STORABLE_REF,
        },
    ],
}


def _storable_keys(document: dict[str, Any]) -> None:
    """Keys of a JSON body, and the keys the server ignores, are strings like any other: every
    object schema says they follow the text rule (no NUL), as the server checks."""
    schemas = document.setdefault("components", {}).setdefault("schemas", {})
    pending: list[Any] = [schemas]
    for operations in document.get("paths", {}).values():
        for operation in operations.values():  # JSON bodies: a form's other parts are ignored
            content = operation.get("requestBody", {}).get("content", {})
            pending.append(content.get("application/json", {}))
    while pending:
        item = pending.pop()
        if isinstance(item, dict):
            is_object = item.get("type") == "object" or "properties" in item
            if is_object and "propertyNames" not in item:
                item["propertyNames"] = {"pattern": TEXT_PATTERN}
            if is_object and "additionalProperties" not in item:
                item["additionalProperties"] = _STORABLE_REF
            pending.extend(value for key, value in item.items() if key != "examples")
        elif isinstance(item, list):
            pending.extend(item)
    schemas[STORABLE_JSON] = _STORABLE_SCHEMA


def install_openapi(app: FastAPI, components: dict[str, Any] | None = None) -> None:
    """``components``: schemas the routes refer to by ``$ref`` that no model declares
    (recursive ones, such as the native condition tree)."""

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            document = get_openapi(
                title=app.title,
                version=app.version,
                description=app.description,
                routes=app.routes,
                tags=app.openapi_tags,
            )
            schemas = document.setdefault("components", {}).setdefault("schemas", {})
            schemas.update(copy.deepcopy(components or {}))
            _replace_422(document)
            _add_server_responses(document)
            _require_bodies(document)
            _storable_keys(document)
            document["info"]["description"] = (
                f"{document['info'].get('description') or ''} {INPUT_RULES}".strip()
            )
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
