"""What the ingestion endpoints share: dependencies, ids in paths, lists, paging envelopes."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import Depends
from pydantic import WithJsonSchema
from sqlalchemy.engine import Connection

from ...domain.ids import MAX_ID, as_id
from ...settings import Settings
from ...storage.db import Database
from ...storage.tenants import default_list_id, list_exists
from ..common.app_state import get_db, get_settings
from ..common.basic_auth import current_tenant
from ..common.envelope import invalid, not_found
from ..common.params import Limit, Offset
from ..common.schema_parts import ID, ID_DIGITS, nullable

TenantId = Annotated[int, Depends(current_tenant)]
Db = Annotated[Database, Depends(get_db)]
Config = Annotated[Settings, Depends(get_settings)]
__all__ = ["Limit", "Offset"]  # shared by the ingestion routers
# A list id in a body: a number or a string of digits (``body_id``), or null for the default.
ListIdBody = Annotated[Any, WithJsonSchema(nullable({"anyOf": [ID, ID_DIGITS]}))]


def path_id(text: str) -> int:
    """A numeric id from the path; anything else names nothing, so it is not found."""
    if not (text.isascii() and text.isdecimal()) or int(text) > MAX_ID:
        raise not_found()
    return int(text)


def body_id(raw: Any) -> int | None:
    """An id sent as a number or a string of digits; None when it cannot be an id."""
    return as_id(raw)


def resolve_list(conn: Connection, tenant_id: int, raw: Any) -> int:
    """The tenant's list ``raw`` names, or its default list; another tenant's list is not found."""
    if raw is None:
        return default_list_id(conn, tenant_id)
    list_id = body_id(raw)
    if list_id is None:
        raise invalid("list_id", "list_id must be an integer")
    if not list_exists(conn, tenant_id, list_id):
        raise not_found("list not found")
    return list_id


def string_list(raw: Any, name: str, limit: int) -> list[str]:
    if not isinstance(raw, list) or not 1 <= len(raw) <= limit:
        raise invalid(name, f"{name} must be a list of 1 to {limit} items")
    for index, item in enumerate(raw):
        if not isinstance(item, str):
            raise invalid(f"{name}[{index}]", "each item must be a string")
    return raw


def page(items: list[Any], total: int) -> dict[str, Any]:
    return {"result": items, "total": total, "count": len(items)}
