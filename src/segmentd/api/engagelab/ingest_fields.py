"""Custom fields: ``/v1/marketing/lists/fields``."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter
from pydantic import BaseModel, ConfigDict, Field, WithJsonSchema

from ...domain.fields import (
    MAX_DROPDOWN_OPTIONS,
    RESERVED_NAMES,
    SYSTEM_FIELDS,
    FieldDef,
    FieldType,
    SystemField,
)
from ...services.catalog_service import FieldDraft, create_field, delete_field, update_field
from ...storage.field_defs import (
    CLIENT_TYPES,
    FORMATS,
    MAX_OPTION_LENGTH,
    FieldChange,
    list_fields,
)
from ..common.envelope import ERROR_RESPONSES, not_found
from ..common.schema_parts import case_insensitive, nullable, one_of_strings, text
from .ingest_common import Config, Db, TenantId, page, path_id

router = APIRouter(
    prefix="/v1/marketing/lists/fields", tags=["EngageLab fields"], responses=ERROR_RESPONSES
)

# The system fields counted in the 50-field cap, listed before the custom ones.
LISTED_SYSTEM = (SystemField.EMAIL, SystemField.NAME, SystemField.PHONE)


# field_name: [A-Za-z0-9_]{1,64} and, in any letter case, no system name.
_RESERVED = "|".join(case_insensitive(name) for name in sorted(RESERVED_NAMES))
FIELD_NAME = {"type": "string", "pattern": f"^(?!(?:{_RESERVED})$)[A-Za-z0-9_]{{1,64}}$"}
_OPTIONS = {
    "type": "array",
    "minItems": 1,
    "maxItems": MAX_DROPDOWN_OPTIONS,
    "uniqueItems": True,
    "items": text(1, MAX_OPTION_LENGTH),
}
_NO_FORMAT = nullable({"type": "string", "enum": [""]})
_NO_OPTIONS = nullable({"type": "array", "maxItems": 0})


def _variant(field_type: FieldType) -> dict[str, Any]:
    """What ``format`` and ``options`` may be for one ``field_type``."""
    allowed = FORMATS.get(field_type)
    fmt = _NO_FORMAT if allowed is None else nullable(one_of_strings(("", *allowed)))
    dropdown = field_type is FieldType.DROPDOWN
    variant: dict[str, Any] = {
        "properties": {
            "field_type": {"const": int(field_type)},
            "format": fmt,
            "options": _OPTIONS if dropdown else _NO_OPTIONS,
        }
    }
    if dropdown:
        variant["required"] = ["options"]
    return variant


FIELD_TYPE = {"type": "integer", "enum": [int(t) for t in CLIENT_TYPES]}


class FieldCreate(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [{"field_name": "Loyalty_points", "field_type": 1, "format": "0"}],
            "required": ["field_name", "field_type"],
            "oneOf": [_variant(field_type) for field_type in CLIENT_TYPES],
        }
    )

    field_name: Annotated[Any, WithJsonSchema(FIELD_NAME)] = Field(
        None, description="1 to 64 of [A-Za-z0-9_], not a system name, unique in any case"
    )
    field_type: Annotated[Any, WithJsonSchema(FIELD_TYPE)] = Field(
        None, description="0 text, 1 number, 2 date, 3 birthday, 4 dropdown"
    )
    format: Annotated[Any, WithJsonSchema(nullable({"type": "string"}))] = Field(
        None,
        description='number "0", ".0", ".00"; date MM/DD/YYYY, DD/MM/YYYY; birthday MM/DD, DD/MM',
    )
    options: Annotated[Any, WithJsonSchema(nullable({"type": "array"}))] = Field(
        None, description="dropdown: 1 to 10 distinct strings"
    )
    visible: Annotated[Any, WithJsonSchema({"type": "boolean"})] = Field(
        True, description="shown in the member views"
    )


class FieldUpdate(BaseModel):
    field_name: Annotated[Any, WithJsonSchema(nullable(FIELD_NAME))] = Field(
        None, description="new name"
    )
    visible: Annotated[Any, WithJsonSchema(nullable({"type": "boolean"}))] = Field(
        None, description="show or hide"
    )
    options: Annotated[Any, WithJsonSchema(nullable(_OPTIONS))] = Field(
        None, description="dropdown: the new options (a field of another type takes none)"
    )
    field_type: Annotated[Any, WithJsonSchema(nullable(FIELD_TYPE))] = Field(
        None, description="must equal the current type if given"
    )
    format: Annotated[Any, WithJsonSchema(nullable({"type": "string"}))] = Field(
        None, description="must equal the current format if given"
    )


def field_json(field: FieldDef) -> dict[str, Any]:
    return {
        "field_id": field.id,
        "field_name": field.name,
        "field_type": int(field.type),
        "format": field.format,
        "options": list(field.options) if field.options else None,
        "visible": field.visible,
        "system": field.system,
    }


@router.post("", summary="Create a custom field")
def create(body: FieldCreate, tenant_id: TenantId, db: Db) -> dict[str, Any]:
    draft = FieldDraft(body.field_name, body.field_type, body.format, body.options, body.visible)
    field = create_field(db, tenant_id, draft)
    return {"result": field_json(field)}


@router.get("", summary="List the fields, system fields first")
def list_all(tenant_id: TenantId, db: Db) -> dict[str, Any]:
    with db.read() as conn:
        custom = list_fields(conn, tenant_id)
    system = [f for f in SYSTEM_FIELDS if f.name in LISTED_SYSTEM]
    items = [field_json(f) for f in (*system, *custom)]
    return page(items, len(items))


@router.put("/{field_id}", summary="Rename a field, show or hide it, change dropdown options")
def update(
    field_id: str, body: FieldUpdate, tenant_id: TenantId, db: Db, settings: Config
) -> dict[str, Any]:
    change = FieldChange(
        name=body.field_name,
        visible=body.visible,
        options=body.options,
        field_type=body.field_type,
        format=body.format,
    )
    field = update_field(db, tenant_id, path_id(field_id), change, settings.tz)
    if field is None:
        raise not_found()
    return {"result": field_json(field)}


@router.delete("/{field_id}", summary="Delete a field no segment uses, with its values")
def delete(field_id: str, tenant_id: TenantId, db: Db) -> dict[str, int]:
    deleted = delete_field(db, tenant_id, path_id(field_id))
    if not deleted:
        raise not_found()
    return {"count": 1}
