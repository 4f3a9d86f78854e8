"""The segment builder's form: condition rows in and out of HTML inputs, and errors by input.

A row's ``value`` is always the API's wire value (``03/30``, ``01/31/2024``); inputs that speak
another format (date pickers, month and day selects) convert at the edge, so what is saved and
validated is exactly what an API client would send.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import date, timezone
from typing import Any

from sqlalchemy.sql import ColumnElement
from starlette.datastructures import FormData

from ...domain.errors import DomainValidationError
from ...domain.fields import DEFAULT_FORMATS, SEGMENTABLE_CAMPAIGN_STATUSES, Catalog, SystemField
from ...domain.ids import ascii_int
from ...domain.operators import Activity, Op, Relation
from ...domain.validation import (
    CAMPAIGN_FIELD,
    MAX_CONDITIONS,
    TAG_FIELD,
    SegmentType,
    parse_condition,
)
from ...storage.compiler import compile_condition
from ...storage.ui_reads import CampaignChoice
from .vocab import ACTIVITY_WORDS, Kind, field_kind, field_label, op_label, operators

DEFAULT_FIELD = str(SystemField.EMAIL)
_WIRE_DATE = re.compile(r"([0-9]{1,2})/([0-9]{1,2})/([0-9]{4})")
_WIRE_BIRTHDAY = re.compile(r"([0-9]{1,2})/([0-9]{1,2})")
_ISO_DATE = re.compile(r"([0-9]{4})-([0-9]{2})-([0-9]{2})")
_ITEM_PATH = re.compile(r"condition\.items\[([0-9]+)\]\.(\w+)")


@dataclass(frozen=True)
class Row:
    """One condition as the form holds it (type 1 rows test ``campaign``)."""

    index: int
    field: str = DEFAULT_FIELD
    op: str = ""
    value: str = ""
    campaign_id: str = ""


@dataclass(frozen=True)
class Choice:
    value: str
    label: str
    disabled: bool = False


@dataclass(frozen=True)
class RowView:
    """What the row template needs: the row, its kind, and every picker's choices."""

    row: Row
    kind: Kind
    field_groups: tuple[tuple[str, tuple[Choice, ...]], ...]
    ops: tuple[Choice, ...]
    value_choices: tuple[Choice, ...]
    campaign_choices: tuple[Choice, ...]
    input_value: str
    month: int
    day: int
    hint: str


# --- wire values and input values ---


def _format(catalog: Catalog, field_name: str) -> str:
    field = catalog.field(field_name)
    if field is None:
        return ""
    return field.format or DEFAULT_FORMATS.get(field.type, "")


def _month_first(fmt: str) -> bool:
    return not fmt.startswith("DD")


def date_to_input(wire: str, fmt: str) -> str:
    """``01/31/2024`` (MM/DD/YYYY) to the date picker's ``2024-01-31``; other text unchanged."""
    match = _WIRE_DATE.fullmatch(wire.strip())
    if not match:
        return wire
    first, second, year = int(match[1]), int(match[2]), int(match[3])
    month, day = (first, second) if _month_first(fmt) else (second, first)
    try:
        return date(year, month, day).isoformat()
    except ValueError:
        return wire


def date_to_wire(picked: str, fmt: str) -> str:
    match = _ISO_DATE.fullmatch(picked.strip())
    if not match:
        return picked
    year, month, day = match[1], match[2], match[3]
    return f"{month}/{day}/{year}" if _month_first(fmt) else f"{day}/{month}/{year}"


def birthday_parts(wire: str, fmt: str) -> tuple[int, int]:
    """(month, day) of a wire birthday; (0, 0) when it is not one."""
    match = _WIRE_BIRTHDAY.fullmatch(wire.strip())
    if not match:
        return 0, 0
    first, second = int(match[1]), int(match[2])
    return (first, second) if _month_first(fmt) else (second, first)


def birthday_to_wire(month: str, day: str, fmt: str) -> str:
    month_number, day_number = ascii_int(month, 4), ascii_int(day, 4)
    if not month_number or not day_number:
        return ""
    mm, dd = f"{month_number:02d}", f"{day_number:02d}"
    return f"{mm}/{dd}" if _month_first(fmt) else f"{dd}/{mm}"


# --- reading the form ---


def _text(form: Mapping[str, Any], name: str) -> str:
    value = form.get(name)
    return value.strip() if isinstance(value, str) else ""


def row_indices(form: FormData) -> list[int]:
    """The rows the form holds, in order (each row posts a hidden ``rows`` input)."""
    found = (ascii_int(raw, 9) for raw in form.getlist("rows") if isinstance(raw, str))
    return sorted({index for index in found if index is not None})[:MAX_CONDITIONS]


def row_from_form(
    form: Mapping[str, Any], index: int, catalog: Catalog, segment_type: SegmentType
) -> Row:
    if segment_type is SegmentType.BY_CAMPAIGN:
        return Row(
            index,
            CAMPAIGN_FIELD,
            str(Op.EQ),
            _text(form, f"value_{index}"),
            _text(form, f"campaign_{index}"),
        )
    field = _text(form, f"field_{index}") or DEFAULT_FIELD
    kind, fmt = field_kind(catalog, field), _format(catalog, field)
    value = _text(form, f"value_{index}")
    if kind is Kind.DATE:
        value = date_to_wire(value, fmt)
    elif kind is Kind.BIRTHDAY:
        value = birthday_to_wire(_text(form, f"month_{index}"), _text(form, f"day_{index}"), fmt)
    return Row(index, field, _text(form, f"op_{index}"), value)


def filter_row(params: Mapping[str, Any], catalog: Catalog) -> Row | None:
    """The one-condition member filter of a GET form; None when off or its value is empty."""
    if params.get("filter") != "1":
        return None
    row = row_from_form(params, 0, catalog, SegmentType.BY_FIELD)
    return row if row.value else None


def rows_from_form(form: FormData, catalog: Catalog, segment_type: SegmentType) -> list[Row]:
    return [row_from_form(form, index, catalog, segment_type) for index in row_indices(form)]


def rows_from_condition(condition: Mapping[str, Any]) -> list[Row]:
    """Rows of a condition in the flat form (``domain.validation.flat_condition``)."""
    rows = []
    for index, item in enumerate(condition.get("items", [])):
        if not isinstance(item, dict) or "field_name" not in item:
            continue
        campaign_id = item.get("campaign_id")
        rows.append(
            Row(
                index,
                str(item["field_name"]),
                str(item.get("op", "")),
                str(item.get("value", "")),
                "" if campaign_id is None else str(campaign_id),
            )
        )
    return rows


def renumbered(rows: Sequence[Row]) -> list[Row]:
    return [replace(row, index=index) for index, row in enumerate(rows)]


def blank_row(index: int, segment_type: SegmentType) -> Row:
    if segment_type is SegmentType.BY_CAMPAIGN:
        return Row(index, CAMPAIGN_FIELD, str(Op.EQ), str(Activity.OPEN))
    return Row(index)


def raw_condition(relation: str, rows: Sequence[Row], segment_type: SegmentType) -> dict[str, Any]:
    """The condition exactly as an API client would send it."""
    items: list[dict[str, Any]] = []
    for row in rows:
        item: dict[str, Any] = {"field_name": row.field, "op": row.op, "value": row.value}
        if segment_type is SegmentType.BY_CAMPAIGN:
            item["campaign_id"] = ascii_int(row.campaign_id)
        items.append(item)
    return {"relation": relation, "items": items}


def segment_type_of(raw: str) -> SegmentType:
    return SegmentType.BY_CAMPAIGN if raw == "1" else SegmentType.BY_FIELD


def relation_of(raw: str) -> str:
    return raw if raw in tuple(Relation) else str(Relation.AND)


# --- what a row shows ---


def _field_groups(catalog: Catalog) -> tuple[tuple[str, tuple[Choice, ...]], ...]:
    system = tuple(Choice(f.name, f.name) for f in catalog.fields.values() if f.system)
    custom = tuple(Choice(f.name, field_label(f)) for f in catalog.fields.values() if not f.system)
    groups = [("System fields", system)]
    if custom:
        groups.append(("Custom fields", custom))
    groups.append(("Tags", (Choice(TAG_FIELD, "Tag"),)))
    return tuple(groups)


def _value_choices(kind: Kind, catalog: Catalog, field_name: str) -> tuple[Choice, ...]:
    if kind is Kind.DROPDOWN:
        field = catalog.field(field_name)
        return tuple(Choice(option, option) for option in (field.options if field else ()))
    if kind is Kind.TAG:
        return tuple(Choice(tag, tag) for tag in sorted(catalog.tags))
    if kind is Kind.CAMPAIGN:
        return tuple(Choice(str(a), ACTIVITY_WORDS[a]) for a in Activity)
    return ()


def _campaign_choices(campaigns: Sequence[CampaignChoice]) -> tuple[Choice, ...]:
    return tuple(
        Choice(
            str(c.id),
            f"{c.name} (#{c.id}, {c.status})",
            disabled=c.status not in SEGMENTABLE_CAMPAIGN_STATUSES,
        )
        for c in campaigns
    )


def _hint(kind: Kind, fmt: str) -> str:
    if kind in (Kind.DATE, Kind.BIRTHDAY):
        return fmt
    if kind is Kind.TIMESTAMP:
        return "YYYY-MM-DD"
    return ""


def fitted(row: Row, catalog: Catalog) -> Row:
    """The row with an operator the field offers (the first one when its own does not fit)."""
    allowed = [str(op) for op in operators(catalog, row.field)]
    return row if row.op in allowed else replace(row, op=allowed[0])


def row_view(row: Row, catalog: Catalog, campaigns: Sequence[CampaignChoice]) -> RowView:
    row = fitted(row, catalog)
    kind, fmt = field_kind(catalog, row.field), _format(catalog, row.field)
    month, day = birthday_parts(row.value, fmt) if kind is Kind.BIRTHDAY else (0, 0)
    return RowView(
        row=row,
        kind=kind,
        field_groups=_field_groups(catalog),
        ops=tuple(Choice(str(op), op_label(kind, str(op))) for op in operators(catalog, row.field)),
        value_choices=_value_choices(kind, catalog, row.field),
        campaign_choices=_campaign_choices(campaigns),
        input_value=date_to_input(row.value, fmt) if kind is Kind.DATE else row.value,
        month=month,
        day=day,
        hint=_hint(kind, fmt),
    )


# --- errors beside their inputs ---

ROW_PARTS = ("field_name", "op", "value", "campaign_id")


def error_parts(exc: DomainValidationError) -> tuple[str, str]:
    """(path, message) of an API error: the message is word for word what the API answers."""
    return exc.path, exc.message


def error_slot(path: str, rows: Sequence[Row]) -> str:
    """The id of the error slot beside the input that ``path`` names (items[i] is rows[i])."""
    match = _ITEM_PATH.fullmatch(path)
    if match and match[2] in ROW_PARTS and int(match[1]) < len(rows):
        return f"err-{rows[int(match[1])].index}-{match[2]}"
    if path in ("segment_name", "type", "list_id"):
        return f"err-{path}"
    if path == "condition.relation":
        return "err-relation"
    return "err-conditions"


def filter_clause(
    row: Row | None, catalog: Catalog, tz: timezone
) -> tuple[ColumnElement[bool] | None, dict[str, str]]:
    """The SQL of the one-condition member filter, or the error shown beside its input."""
    if row is None:
        return None, {}
    raw = raw_condition("and", [row], SegmentType.BY_FIELD)
    try:
        return compile_condition(parse_condition(raw, catalog, SegmentType.BY_FIELD, tz)), {}
    except DomainValidationError as exc:
        path, message = error_parts(exc)
        return None, {error_slot(path, [row]): message}


def all_slots(rows: Sequence[Row]) -> list[str]:
    """Every error slot the builder shows, so a response can clear those that no longer apply."""
    fixed = ["err-segment_name", "err-type", "err-list_id", "err-relation", "err-conditions"]
    return fixed + [f"err-{row.index}-{part}" for row in rows for part in ROW_PARTS]
