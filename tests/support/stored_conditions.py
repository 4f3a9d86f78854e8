"""Conditions as storage keeps them, for tests that write segments below the API."""

from __future__ import annotations

from datetime import UTC, timezone
from typing import Any

from sqlalchemy.engine import Connection

from segmentd.domain.native_form import parse_native
from segmentd.domain.stored_form import dump_condition
from segmentd.domain.validation import SegmentType, parse_condition
from segmentd.storage.catalog import load_catalog


def stored_condition(
    conn: Connection, tenant_id: int, raw: dict[str, Any], segment_type: int = 0
) -> dict[str, Any]:
    """The stored form of a flat condition (as clients send it), by the tenant's catalog."""
    catalog = load_catalog(conn, tenant_id)
    return dump_condition(parse_condition(raw, catalog, SegmentType(segment_type), UTC))


def stored_native(
    conn: Connection, tenant_id: int, native: dict[str, Any], tz: timezone = UTC
) -> dict[str, Any]:
    """The stored form of a native condition, by the tenant's catalog, relative dates counted
    from the day it is now in ``tz``."""
    return dump_condition(parse_native(native, load_catalog(conn, tenant_id), tz))
