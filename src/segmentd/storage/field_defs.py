"""Custom field definitions: the rules on names, types, formats and options, and slot allocation.

Each custom field owns one slot ``k`` of ``storage.schema.SLOTS``: its values live in ``n{k}``
(numbers, dates, birthdays) or ``t{k}`` (text, dropdowns) on ``members``.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from ..domain.errors import DomainValidationError, InUse
from ..domain.fields import (
    BIRTHDAY_FORMATS,
    DATE_FORMATS,
    DEFAULT_FORMATS,
    MAX_DROPDOWN_OPTIONS,
    NUMBER_FORMATS,
    RESERVED_NAMES,
    FieldDef,
    FieldType,
)
from ..domain.member_changes import MembersChanged
from ..timefmt import now
from . import analytics_outbox
from .catalog import catalog_changed, custom_fields, field_def
from .schema import MAX_CUSTOM_FIELDS, MAX_FIELDS, SLOTS, fields, members
from .segment_refs import segments_using_field, segments_using_values
from .write_lock import lock_tenant_writes

NAME_PATTERN = re.compile(r"[A-Za-z0-9_]{1,64}", re.ASCII)
MAX_OPTION_LENGTH = 255
CLIENT_TYPES = (
    FieldType.TEXT,
    FieldType.NUMBER,
    FieldType.DATE,
    FieldType.BIRTHDAY,
    FieldType.DROPDOWN,
)
FORMATS: dict[FieldType, tuple[str, ...]] = {
    FieldType.NUMBER: NUMBER_FORMATS,
    FieldType.DATE: DATE_FORMATS,
    FieldType.BIRTHDAY: BIRTHDAY_FORMATS,
}


@dataclass(frozen=True)
class FieldSpec:
    """A checked request for a new field."""

    name: str
    type: FieldType
    format: str | None
    options: tuple[str, ...]
    visible: bool


@dataclass(frozen=True)
class FieldChange:
    """What PUT may change; None leaves a property as it is."""

    name: str | None = None
    visible: bool | None = None
    options: Any = None
    field_type: int | None = None
    format: str | None = None


def check_name(name: Any) -> str:
    if not isinstance(name, str) or not NAME_PATTERN.fullmatch(name):
        raise DomainValidationError(
            "field_name", "field_name must be 1 to 64 characters of letters, digits and _"
        )
    if name.casefold() in RESERVED_NAMES:
        raise DomainValidationError("field_name", f"{name} is a system field name")
    return name


def check_type(field_type: Any) -> FieldType:
    if isinstance(field_type, bool) or field_type not in tuple(CLIENT_TYPES):
        raise DomainValidationError(
            "field_type",
            "field_type only be 0 (text), 1 (number), 2 (date), 3 (birthday) or 4 (dropdown)",
        )
    return FieldType(field_type)


def check_format(field_type: FieldType, fmt: Any) -> str | None:
    allowed = FORMATS.get(field_type)
    if allowed is None:
        if fmt not in (None, ""):
            raise DomainValidationError(
                "format", "format applies only to number, date and birthday fields"
            )
        return None
    if fmt in (None, ""):
        return DEFAULT_FORMATS[field_type]
    if fmt not in allowed:
        raise DomainValidationError("format", f"format must be one of {', '.join(allowed)}")
    return str(fmt)


def check_options(field_type: FieldType, options: Any) -> tuple[str, ...]:
    if field_type is not FieldType.DROPDOWN:
        if options is not None and options != []:
            raise DomainValidationError("options", "options apply only to dropdown fields")
        return ()
    if not isinstance(options, list) or not 1 <= len(options) <= MAX_DROPDOWN_OPTIONS:
        raise DomainValidationError(
            "options", f"a dropdown needs 1 to {MAX_DROPDOWN_OPTIONS} options"
        )
    for index, option in enumerate(options):
        if (
            not isinstance(option, str)
            or not 1 <= len(option) <= MAX_OPTION_LENGTH
            or "\0" in option
        ):
            raise DomainValidationError(
                f"options[{index}]",
                f"each option is a string of 1 to {MAX_OPTION_LENGTH} characters",
            )
    if len(set(options)) != len(options):
        raise DomainValidationError("options", "options must not repeat")
    return tuple(options)


def check_visible(visible: Any) -> bool:
    if not isinstance(visible, bool):
        raise DomainValidationError("visible", "visible must be true or false")
    return visible


def check_spec(
    name: Any, field_type: Any, fmt: Any = None, options: Any = None, visible: Any = True
) -> FieldSpec:
    """Apply every rule on a new field's definition; raise DomainValidationError on the first."""
    checked_type = check_type(field_type)
    return FieldSpec(
        name=check_name(name),
        type=checked_type,
        format=check_format(checked_type, fmt),
        options=check_options(checked_type, options),
        visible=check_visible(visible),
    )


def get_field(conn: Connection, tenant_id: int, field_id: int) -> FieldDef | None:
    row = conn.execute(
        sa.select(fields).where(fields.c.tenant_id == tenant_id, fields.c.id == field_id)
    ).first()
    return field_def(row) if row else None


def list_fields(conn: Connection, tenant_id: int) -> list[FieldDef]:
    """The tenant's custom fields, oldest first."""
    return custom_fields(conn, tenant_id)


def _name_taken(conn: Connection, tenant_id: int, name: str, except_id: int | None = None) -> bool:
    query = sa.select(fields.c.id).where(
        fields.c.tenant_id == tenant_id, fields.c.name_key == name.casefold()
    )
    if except_id is not None:
        query = query.where(fields.c.id != except_id)
    return conn.execute(query).first() is not None


def _free_slot(conn: Connection, tenant_id: int) -> int:
    used = set(
        conn.execute(sa.select(fields.c.slot).where(fields.c.tenant_id == tenant_id)).scalars()
    )
    free = [slot for slot in SLOTS if slot not in used]
    if not free:
        raise DomainValidationError(
            "field_name",
            f"at most {MAX_FIELDS} fields, counting Email, Name and Phone "
            f"({MAX_CUSTOM_FIELDS} custom fields)",
        )
    return free[0]


def create_field(conn: Connection, tenant_id: int, spec: FieldSpec) -> FieldDef:
    lock_tenant_writes(conn, tenant_id)
    if _name_taken(conn, tenant_id, spec.name):
        raise DomainValidationError("field_name", f"a field named {spec.name} already exists")
    field_id = conn.execute(
        sa.insert(fields)
        .values(
            tenant_id=tenant_id,
            name=spec.name,
            name_key=spec.name.casefold(),
            field_type=int(spec.type),
            format=spec.format,
            options=json.dumps(list(spec.options)) if spec.options else None,
            visible=spec.visible,
            slot=_free_slot(conn, tenant_id),
            created_at=now(),
        )
        .returning(fields.c.id)
    ).scalar_one()
    catalog_changed(conn, tenant_id)
    found = get_field(conn, tenant_id, int(field_id))
    assert found is not None
    return found


def _slot_columns(field: FieldDef) -> dict[str, None]:
    return {f"n{field.slot}": None, f"t{field.slot}": None}


def delete_field(conn: Connection, tenant_id: int, field_id: int) -> bool:
    """Delete a field no segment uses and clear its values; False when there is no such field."""
    lock_tenant_writes(conn, tenant_id)
    field = get_field(conn, tenant_id, field_id)
    if field is None:
        return False
    users = segments_using_field(conn, tenant_id, field)
    if users:
        raise InUse("field_id", f"field {field.name} is used by segments: {', '.join(users)}")
    conn.execute(sa.delete(fields).where(fields.c.tenant_id == tenant_id, fields.c.id == field_id))
    catalog_changed(conn, tenant_id)
    # Only the members holding a value change (the others' slot is already empty).
    holding = sa.select(members.c.id).where(
        members.c.tenant_id == tenant_id,
        sa.or_(*(members.c[name].is_not(None) for name in _slot_columns(field))),
    )
    analytics_outbox.record_members_of(conn, tenant_id, holding)
    conn.execute(
        sa.update(members).where(members.c.tenant_id == tenant_id).values(**_slot_columns(field))
    )
    return True


def update_field(
    conn: Connection, tenant_id: int, field_id: int, change: FieldChange
) -> tuple[FieldDef | None, MembersChanged]:
    """Rename a field, show or hide it, or change a dropdown's options. Its type stays.

    Returns the field (None when there is no such field) and the members whose value of a
    dropped option was cleared, for the memberships."""
    lock_tenant_writes(conn, tenant_id)
    field = get_field(conn, tenant_id, field_id)
    if field is None:
        return None, MembersChanged([])
    _check_fixed(field, change)
    cleared: list[int] = []
    values: dict[str, Any] = {}
    if change.name is not None and change.name != field.name:
        values.update(_rename(conn, tenant_id, field, check_name(change.name)))
    if change.visible is not None:
        values["visible"] = check_visible(change.visible)
    if change.options is not None:
        options = check_options(field.type, change.options)
        values["options"] = json.dumps(list(options)) if options else None
        cleared = _drop_options(conn, tenant_id, field, set(field.options) - set(options))
    if values:
        conn.execute(
            sa.update(fields)
            .where(fields.c.tenant_id == tenant_id, fields.c.id == field_id)
            .values(**values)
        )
        catalog_changed(conn, tenant_id)
    return get_field(conn, tenant_id, field_id), MembersChanged(cleared)


def _check_fixed(field: FieldDef, change: FieldChange) -> None:
    if change.field_type is not None and change.field_type != int(field.type):
        raise DomainValidationError("field_type", "the type of a field cannot change")
    if change.format not in (None, "") and change.format != field.format:
        raise DomainValidationError("format", "the format of a field cannot change")


def _rename(conn: Connection, tenant_id: int, field: FieldDef, name: str) -> dict[str, str]:
    if _name_taken(conn, tenant_id, name, except_id=field.id):
        raise DomainValidationError("field_name", f"a field named {name} already exists")
    return {"name": name, "name_key": name.casefold()}


def _drop_options(
    conn: Connection, tenant_id: int, field: FieldDef, removed: set[str]
) -> list[int]:
    """Refuse to drop an option a segment tests; clear members' values of dropped options and
    return those members."""
    if not removed:
        return []
    users = segments_using_values(conn, tenant_id, field, removed)
    if users:
        raise DomainValidationError(
            "options",
            f"options {', '.join(sorted(removed))} are used by segments: {', '.join(users)}",
        )
    column = members.c[f"t{field.slot}"]
    holders = list(
        conn.execute(
            sa.select(members.c.id).where(members.c.tenant_id == tenant_id, column.in_(removed))
        ).scalars()
    )
    if holders:
        conn.execute(
            sa.update(members)
            .where(members.c.tenant_id == tenant_id, column.in_(removed))
            .values({column.name: None, "updated_at": now()})
        )
        analytics_outbox.record_members(conn, tenant_id, holders)
    return holders
