"""A segment's condition on EngageLab's wire: the flat ``{relation, items}`` JSON clients send
and read back, naming fields and tags by name. Stored conditions name them by key and id
(``domain.stored_form``); the tenant's catalog maps one to the other, so a renamed field or
tag reads back under its new name."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ...domain.fields import Catalog
from ...domain.segment_kinds import SegmentKind
from ...domain.validation import flat_condition, static_flat_condition


def wire_condition(
    stored: Mapping[str, Any], catalog: Catalog, kind: SegmentKind = SegmentKind.DYNAMIC
) -> dict[str, Any]:
    """What a client reads back: the stored condition in the flat form, by current names; for
    a static segment, one ``$static`` item (its members are given, not selected)."""
    if kind is SegmentKind.STATIC:
        return static_flat_condition()
    return flat_condition(stored, catalog)
