"""CSV export of a segment's published members, streamed batch by batch from one snapshot.

Served by the native API (``api.native.exports``) and the web UI's export button alike.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterator, Sequence
from urllib.parse import quote

from fastapi.responses import StreamingResponse

from ...domain.fields import FieldDef
from ...domain.values import format_field_value
from ...membership import store
from ...storage.catalog import custom_fields
from ...storage.db import Database
from ...storage.member_rows import MemberRow, fetch_members
from ...storage.segments import Segment, get_segment

BATCH = 500
TAG_SEPARATOR = ";"
# Spreadsheets run a cell that starts like a formula; a leading ' keeps it text. Numbers and
# phone numbers (+33 1 23, -5) stay as they are.
_FORMULA_START = ("=", "@", "\t", "\r")
_SIGNED_NUMBER = re.compile(r"[+-][0-9 ().-]*")


def safe_cell(value: str | None) -> str:
    if not value:
        return ""
    risky = value.startswith(_FORMULA_START) or (
        value[0] in "+-" and not _SIGNED_NUMBER.fullmatch(value)
    )
    return "'" + value if risky else value


def header(fields: Sequence[FieldDef]) -> list[str]:
    return ["email", "name", "phone", *(field.name for field in fields), "tags"]


def csv_row(member: MemberRow) -> list[str]:
    values = [format_field_value(field, value) for field, value in member.values]
    cells = [member.email, member.name, member.phone, *values, TAG_SEPARATOR.join(member.tag_names)]
    return [safe_cell(cell) for cell in cells]


def _lines(rows: Sequence[Sequence[str]]) -> str:
    buffer = io.StringIO()
    csv.writer(buffer, lineterminator="\r\n").writerows(rows)
    return buffer.getvalue()


def export_lines(db: Database, segment: Segment) -> Iterator[str]:
    """The CSV text, one batch of members per chunk, all read from the same snapshot."""
    with db.snapshot() as conn:
        fields = custom_fields(conn, segment.tenant_id)
        yield "\ufeff" + _lines([header(fields)])  # the BOM lets spreadsheets read UTF-8
        # Read again inside the snapshot: a build may have published since the request began.
        current = get_segment(conn, segment.tenant_id, segment.id)
        if current is None:
            return
        for ids in store().member_ids(conn, current, BATCH):
            members = fetch_members(conn, segment.tenant_id, ids, fields)
            yield _lines([csv_row(member) for member in members])


def filename(segment: Segment) -> str:
    stem = re.sub(r"[^A-Za-z0-9_-]+", "-", segment.name).strip("-") or "segment"
    return f"{stem}-{segment.id}.csv"


def csv_response(db: Database, segment: Segment) -> StreamingResponse:
    name = filename(segment)
    disposition = f"attachment; filename=\"{name}\"; filename*=UTF-8''{quote(name)}"
    return StreamingResponse(
        export_lines(db, segment),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": disposition, "Cache-Control": "no-store"},
    )
