"""A segment's condition on EngageLab's wire: the flat ``{relation, items}`` JSON clients send
and read back, naming fields and tags by name. Stored conditions name them by key and id
(``domain.stored_form``); the tenant's catalog maps one to the other, so a renamed field or
tag reads back under its new name."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import timezone
from typing import Any

from ...domain.fields import Catalog
from ...domain.stored_form import dump_condition
from ...domain.validation import SegmentType, flat_condition, parse_condition
from .errors import invalid


def stored_condition(
    raw: Any, catalog: Catalog, segment_type: SegmentType, tz: timezone
) -> dict[str, Any]:
    """Validate a condition as a client sent it; return its stored form. Raises EngageLab's
    errors (code 30035) with the path of the faulty part."""
    if raw is None:
        raise invalid("condition", "condition is required")
    return dump_condition(parse_condition(raw, catalog, segment_type, tz))


def wire_condition(stored: Mapping[str, Any], catalog: Catalog) -> dict[str, Any]:
    """What a client reads back: the stored condition in the flat form, by current names."""
    return flat_condition(stored, catalog)
