"""Read a CSV file row by row, knowing the byte offset after each row (so imports can resume).

The csv module pulls one physical line at a time and never reads ahead of the record it is
building, so the bytes handed to it when a row comes out are exactly the bytes up to the
end of that row, quoted line breaks included.

A row that cannot be read is a row problem, not the end of the import: bytes that are not
UTF-8, a NUL character, a quote that is never closed, text after a closing quote or a row
longer than ``MAX_ROW_BYTES`` give a ``Row`` with ``problem`` set, numbered as the CSV's
rows are (not as physical lines). When the CSV syntax breaks, the bad row is its first
physical line and reading goes on at the next line. Only the header and the first MiB are
checked before any row: a file that is not UTF-8 there is refused as a whole.
"""

from __future__ import annotations

import csv
import hashlib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO, NamedTuple

from ..domain.text import text_problem

FINGERPRINT_BYTES = 1024 * 1024
ENCODING_CHECK_BYTES = FINGERPRINT_BYTES  # checked as UTF-8 before the import starts
MAX_ROW_BYTES = 1024 * 1024  # a row, all its lines; a longer one is rejected
MAX_CELL_CHARS = csv.field_size_limit()  # the csv module's limit (131,072), kept as it is
MAX_COLUMNS = 1000
MAX_HEADER_CELL = 255  # characters of a column name
_BOM = b"\xef\xbb\xbf"
# What ``surrogateescape`` turns an undecodable byte into: U+DC80 to U+DCFF.
_ESCAPED_BYTES = range(0xDC80, 0xDD00)


class SourceError(ValueError):
    """The file cannot be read as a CSV import (empty, no header, not UTF-8...)."""


class _RowTooLong(Exception):
    pass


@dataclass(frozen=True)
class Fingerprint:
    """What tells that a file is the same one again: its size and the hash of its first MiB."""

    size: int
    digest: str


class Row(NamedTuple):
    number: int  # 1 = the first row after the header
    cells: list[str]
    end: int  # byte offset just after this row
    problem: str | None = None  # why the row cannot be read (then ``cells`` is its first line)


def fingerprint(path: Path) -> Fingerprint:
    with path.open("rb") as handle:
        digest = hashlib.sha256(handle.read(FINGERPRINT_BYTES)).hexdigest()
    return Fingerprint(path.stat().st_size, digest)


class _Lines:
    """Decoded lines of a binary file, counting the bytes consumed.

    Bytes that are not UTF-8 are decoded with ``surrogateescape`` (so the row they are in is
    still cut where it ends, and the rejected-rows file gets them back as they were);
    ``flagged`` tells that a line of the current row breaks the text rule.
    """

    def __init__(self, handle: BinaryIO, offset: int) -> None:
        self.handle = handle
        self.offset = offset
        self.row_start = offset
        self.flagged = False

    def next_row(self) -> None:
        self.row_start, self.flagged = self.offset, False

    def __iter__(self) -> Iterator[str]:
        readline = self.handle.readline
        while True:
            raw = readline(MAX_ROW_BYTES + 1)
            if not raw:
                return
            self.offset += len(raw)
            if self.offset - self.row_start > MAX_ROW_BYTES:
                raise _RowTooLong()
            text = raw.decode("utf-8", "surrogateescape")
            # Hot: once per line. ASCII text holds no surrogate, only NUL is to look for.
            if "\x00" in text or (not text.isascii() and text_problem(text) is not None):
                self.flagged = True
            yield text


def cells_problem(cells: list[str]) -> str | None:
    """Why a row's cells cannot be stored (the text rule), naming the first bad cell."""
    for position, cell in enumerate(cells, start=1):
        problem = text_problem(cell)
        if problem is None:
            continue
        bad = next((c for c in cell if ord(c) in _ESCAPED_BYTES), None)
        if bad is not None:
            return f"cell {position} is not UTF-8 (byte 0x{ord(bad) - 0xDC00:02x})"
        return f"cell {position} {problem}"
    return None


def _syntax_problem(exc: Exception) -> str:
    if isinstance(exc, _RowTooLong):
        return f"the row is longer than {MAX_ROW_BYTES} bytes (is a quote never closed?)"
    text = str(exc)
    if "unexpected end of data" in text:
        return "a quoted cell is never closed (the file ends inside the quotes)"
    if "field larger than field limit" in text:
        return f"a cell is longer than {MAX_CELL_CHARS} characters (is a quote never closed?)"
    return f"the row is not valid CSV: {text}"


def check_encoding(path: Path) -> None:
    """Refuse (before any row) a file whose first MiB is not UTF-8: it is in another
    encoding (Latin-1, UTF-16...), and importing it would reject most of its rows."""
    with path.open("rb") as handle:
        sample = handle.read(ENCODING_CHECK_BYTES)
        complete = len(sample) < ENCODING_CHECK_BYTES
    try:
        sample.decode("utf-8")
    except UnicodeDecodeError as exc:
        if not complete and exc.reason == "unexpected end of data":
            return  # the sample ends inside a character
        line = sample.count(b"\n", 0, exc.start) + 1
        raise SourceError(
            f"the file is not UTF-8 (byte 0x{sample[exc.start]:02x} on line {line}): "
            'save it as UTF-8 ("CSV UTF-8") and import it again'
        ) from None


def read_header(path: Path) -> tuple[list[str], int]:
    """The header cells and the byte offset where the first row starts."""
    with path.open("rb") as handle:
        start = len(_BOM) if handle.read(len(_BOM)) == _BOM else 0
        handle.seek(start)
        lines = _Lines(handle, start)
        try:
            header = next(csv.reader(lines, strict=True))
        except StopIteration:
            raise SourceError("the file is empty: the first line must be a header") from None
        except (csv.Error, _RowTooLong) as exc:
            raise SourceError(f"the header cannot be read: {_syntax_problem(exc)}") from None
    problem = cells_problem(header) if lines.flagged else None
    if problem is not None:
        raise SourceError(f"the header cannot be read: {problem}")
    if len(header) > MAX_COLUMNS:
        raise SourceError(f"the header has {len(header)} columns: at most {MAX_COLUMNS}")
    for position, cell in enumerate(header, start=1):
        if len(cell.strip()) > MAX_HEADER_CELL:
            raise SourceError(
                f"column {position} of the header is longer than {MAX_HEADER_CELL} characters"
            )
    return [cell.strip() for cell in header], lines.offset


def read_rows(path: Path, offset: int, first_number: int) -> Iterator[Row]:
    """Rows from byte ``offset`` on (a row boundary), numbered from ``first_number``.

    Blank lines are skipped but still counted in the offsets. A row that cannot be read
    comes with its ``problem``; reading goes on after it.
    """
    with path.open("rb") as handle:
        number = first_number
        while True:
            handle.seek(offset)
            lines = _Lines(handle, offset)
            try:
                for cells in csv.reader(lines, strict=True):
                    if cells:
                        problem = cells_problem(cells) if lines.flagged else None
                        yield Row(number, cells, lines.offset, problem)
                        number += 1
                    lines.next_row()
                return
            except (csv.Error, _RowTooLong) as exc:
                # The bad row is its first physical line; the next row starts after it.
                first, offset = _first_line(handle, lines.row_start)
                yield Row(number, [first], offset, _syntax_problem(exc))
                number += 1


def _first_line(handle: BinaryIO, start: int) -> tuple[str, int]:
    """The line starting at ``start`` (at most MAX_ROW_BYTES of it) and the offset after it."""
    handle.seek(start)
    first = handle.readline(MAX_ROW_BYTES)
    end = start + len(first)
    tail = first
    while tail and not tail.endswith(b"\n"):
        tail = handle.readline(MAX_ROW_BYTES)
        end += len(tail)
    return first.decode("utf-8", "surrogateescape").rstrip("\r\n"), end
