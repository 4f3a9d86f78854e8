"""A CSV of email addresses, read whole: the members given to a static segment by upload.

Small enough to read in one request (``MAX_BYTES``, ``MAX_ROWS``), so it needs none of the
resumable import jobs' machinery. The emails are the column headed ``email`` (any letter
case), or the first column when the first row is an address already (no header). UTF-8, a
byte order mark allowed; blank rows are skipped.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass

from ..domain.errors import DomainValidationError
from ..domain.text import text_problem

MAX_BYTES = 8 * 1024 * 1024
MAX_ROWS = 100_000
HEADER = "email"
_PATH = "file"


@dataclass(frozen=True)
class EmailRow:
    number: int  # the CSV's row, 1 being its first (the header, if any)
    email: str


def read_email_column(data: bytes) -> list[EmailRow]:
    """The emails of the CSV in row order; DomainValidationError (path ``file``) when it is
    too large, not UTF-8, not a CSV, or has no email column."""
    if len(data) > MAX_BYTES:
        raise DomainValidationError(_PATH, f"the CSV must be at most {MAX_BYTES} bytes")
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise DomainValidationError(_PATH, "the CSV must be UTF-8") from None
    if "\x00" in text:
        raise DomainValidationError(_PATH, "the CSV must not contain the NUL character")
    try:
        rows = [(n, cells) for n, cells in enumerate(csv.reader(io.StringIO(text)), 1) if cells]
    except csv.Error as exc:
        raise DomainValidationError(_PATH, f"the CSV cannot be read: {exc}") from None
    if not rows:
        raise DomainValidationError(_PATH, "the CSV holds no email")
    column, body = _email_column(rows)
    emails = [
        EmailRow(number, cells[column].strip())
        for number, cells in body
        if len(cells) > column and cells[column].strip()
    ]
    if len(emails) > MAX_ROWS:
        raise DomainValidationError(_PATH, f"the CSV must hold at most {MAX_ROWS} emails")
    for row in emails:
        problem = text_problem(row.email)
        if problem:
            raise DomainValidationError(f"{_PATH}.row[{row.number}]", problem)
    return emails


def _email_column(
    rows: list[tuple[int, list[str]]],
) -> tuple[int, list[tuple[int, list[str]]]]:
    """The email column's index, and the rows holding emails (the header left out)."""
    first = [cell.strip() for cell in rows[0][1]]
    named = [i for i, cell in enumerate(first) if cell.casefold() == HEADER]
    if named:
        return named[0], rows[1:]
    if "@" in first[0]:
        return 0, rows
    raise DomainValidationError(
        _PATH, f"the CSV needs a column headed {HEADER}, or addresses in its first column"
    )
