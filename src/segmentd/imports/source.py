"""Read a CSV file row by row, knowing the byte offset after each row (so imports can resume).

The csv module pulls one physical line at a time and never reads ahead of the record it is
building, so the bytes handed to it when a row comes out are exactly the bytes up to the
end of that row, quoted line breaks included.
"""

from __future__ import annotations

import csv
import hashlib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO, NamedTuple

FINGERPRINT_BYTES = 1024 * 1024
_BOM = b"\xef\xbb\xbf"


class SourceError(ValueError):
    """The file cannot be read as a CSV import (empty, no header, not UTF-8...)."""


@dataclass(frozen=True)
class Fingerprint:
    """What tells that a file is the same one again: its size and the hash of its first MiB."""

    size: int
    digest: str


class Row(NamedTuple):
    number: int  # 1 = the first row after the header
    cells: list[str]
    end: int  # byte offset just after this row


def fingerprint(path: Path) -> Fingerprint:
    with path.open("rb") as handle:
        digest = hashlib.sha256(handle.read(FINGERPRINT_BYTES)).hexdigest()
    return Fingerprint(path.stat().st_size, digest)


class _Lines:
    """Decoded lines of a binary file, counting the bytes consumed."""

    def __init__(self, handle: BinaryIO, offset: int) -> None:
        self.handle = handle
        self.offset = offset
        self.line_number = 0

    def __iter__(self) -> Iterator[str]:
        for raw in self.handle:
            self.offset += len(raw)
            self.line_number += 1
            try:
                yield raw.decode("utf-8")
            except UnicodeDecodeError:
                raise SourceError(f"line {self.line_number} is not UTF-8") from None


def read_header(path: Path) -> tuple[list[str], int]:
    """The header cells and the byte offset where the first row starts."""
    with path.open("rb") as handle:
        start = len(_BOM) if handle.read(len(_BOM)) == _BOM else 0
        handle.seek(start)
        lines = _Lines(handle, start)
        try:
            header = next(csv.reader(lines))
        except StopIteration:
            raise SourceError("the file is empty: the first line must be a header") from None
        except csv.Error as exc:
            raise SourceError(f"the header is not valid CSV: {exc}") from None
    return [cell.strip() for cell in header], lines.offset


def read_rows(path: Path, offset: int, first_number: int) -> Iterator[Row]:
    """Rows from byte ``offset`` on (a row boundary), numbered from ``first_number``.

    Blank lines are skipped but still counted in the offsets.
    """
    with path.open("rb") as handle:
        handle.seek(offset)
        lines = _Lines(handle, offset)
        number = first_number
        try:
            for cells in csv.reader(lines, strict=True):
                if cells:
                    yield Row(number, cells, lines.offset)
                    number += 1
        except csv.Error as exc:
            raise SourceError(f"row {number} is not valid CSV: {exc}") from None
