"""Which ``members`` column holds a field's typed value."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa

from ..domain.fields import FieldDef, FieldType, SystemField
from .schema import members

SYSTEM_COLUMNS: dict[str, sa.Column[Any]] = {
    SystemField.EMAIL: members.c.email_key,  # already folded, so equality can use the index
    SystemField.NAME: members.c.name,
    SystemField.PHONE: members.c.phone,
    SystemField.DOMAIN: members.c.domain,
    SystemField.CREATE_TIME: members.c.created_at,
    SystemField.UPDATE_TIME: members.c.updated_at,
    SystemField.UNSUBSCRIBE_TIME: members.c.unsubscribed_at,
}

NUMERIC_TYPES = frozenset({FieldType.NUMBER, FieldType.DATE, FieldType.BIRTHDAY})


def field_column(field: FieldDef) -> sa.Column[Any]:
    """The ``members`` column that holds ``field``'s typed value."""
    if field.system:
        return SYSTEM_COLUMNS[field.name]
    prefix = "n" if field.type in NUMERIC_TYPES else "t"
    return members.c[f"{prefix}{field.slot}"]
