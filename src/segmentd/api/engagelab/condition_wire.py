"""A segment's condition on EngageLab's wire: the flat ``{relation, items}`` JSON clients send
and read back, naming fields and tags by name. Stored conditions name them by key and id
(``domain.stored_form``); the tenant's catalog maps one to the other, so a renamed field or
tag reads back under its new name."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ...domain.fields import Catalog
from ...domain.validation import flat_condition


def wire_condition(stored: Mapping[str, Any], catalog: Catalog) -> dict[str, Any]:
    """What a client reads back: the stored condition in the flat form, by current names."""
    return flat_condition(stored, catalog)
