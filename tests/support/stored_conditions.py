"""Conditions as storage keeps them, for tests that write segments below the API."""

from __future__ import annotations

from datetime import UTC
from typing import Any

from sqlalchemy.engine import Connection

from segmentd.domain.stored_form import dump_condition
from segmentd.domain.validation import SegmentType, parse_condition
from segmentd.storage.catalog import load_catalog


def stored_condition(
    conn: Connection, tenant_id: int, raw: dict[str, Any], segment_type: int = 0
) -> dict[str, Any]:
    """The stored form of a flat condition (as clients send it), by the tenant's catalog."""
    catalog = load_catalog(conn, tenant_id)
    return dump_condition(parse_condition(raw, catalog, SegmentType(segment_type), UTC))
