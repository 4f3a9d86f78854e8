"""Fuzzing the CSV reader of imports (``segmentd.imports``) with hypothesis.

- Any bytes at all: the header is read or SourceError says why; then every row comes out,
  read or with the problem that rejects it (bad bytes, NUL, broken quotes), numbered as CSV
  rows, and resuming after any of them gives exactly the rows that follow.
- Any table written by a CSV writer (quotes, commas, line breaks inside cells, a BOM, CRLF)
  reads back cell for cell, and resuming at the byte offset after any row (what an import
  does after a crash) gives exactly the rows that follow, numbered on.
- Any row against a members header with fields of every type: a checked row or RowProblem.
- The JSONP writer: any callback is a plain ASCII identifier or refused; the body is ASCII
  and its JSON reads back as the payload.
"""

from __future__ import annotations

import csv
import io
import json
import re
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from segmentd.api.commandersact.jsonp import jsonp_body
from segmentd.domain.fields import FieldDef, FieldType
from segmentd.domain.text import text_problem
from segmentd.imports.csv_member_rows import RowProblem, check_member, member_layout
from segmentd.imports.mapping import map_header
from segmentd.imports.source import Row, SourceError, read_header, read_rows

# Cells as people's files hold them: any text but NUL and lone surrogates, which cannot be
# written as UTF-8 (NUL is covered by the raw-bytes test).
cell_text = st.text(st.characters(blacklist_categories=("Cs",), blacklist_characters="\x00"))
cells = st.lists(cell_text, min_size=1, max_size=6)
tables = st.lists(cells, min_size=1, max_size=12)

FIELDS = [
    FieldDef("Note", FieldType.TEXT, slot=1),
    FieldDef("Age", FieldType.NUMBER, format="0", slot=2),
    FieldDef("Joined", FieldType.DATE, format="DD/MM/YYYY", slot=3),
    FieldDef("Birthday", FieldType.BIRTHDAY, format="MM/DD", slot=4),
    FieldDef("City", FieldType.DROPDOWN, options=("Paris", "Lyon"), slot=5),
]
HEADER = ["email", "name", "phone", "tcid", "tags", "Note", "Age", "Joined", "Birthday", "City"]
LAYOUT = member_layout(map_header(HEADER, FIELDS), len(HEADER))
CSV_BYTES = list(b'a,"\r\n \x00\xff\xef\xbb\xbf')  # what CSV syntax and UTF-8 are made of
FUZZ = settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@contextmanager
def csv_file(content: bytes) -> Iterator[Path]:
    with tempfile.TemporaryDirectory() as directory:
        path = Path(directory) / "members.csv"
        path.write_bytes(content)
        yield path


def read_all(path: Path) -> tuple[list[str], list[Row]]:
    header, start = read_header(path)
    return header, list(read_rows(path, start, 1))


def written(table: list[list[str]], *, bom: bool, quote_all: bool) -> bytes:
    """The table as a CSV writer makes it: minimal quoting ends lines with CRLF (RFC 4180),
    as Python quotes a lone CR only when it is part of the line terminator."""
    out = io.StringIO()
    if quote_all:
        csv.writer(out, lineterminator="\n", quoting=csv.QUOTE_ALL).writerows(table)
    else:
        csv.writer(out, lineterminator="\r\n").writerows(table)
    return (b"\xef\xbb\xbf" if bom else b"") + out.getvalue().encode("utf-8")


@FUZZ
@given(
    st.binary(max_size=400)
    | st.lists(st.sampled_from(list(b'a,"\r\n\x00\xff\xef')), max_size=60).map(bytes)
)
def test_any_bytes_read_as_rows_or_refused_with_a_reason(content: bytes) -> None:
    with csv_file(content) as path:
        try:
            header, rows = read_all(path)
        except SourceError as error:
            assert str(error)
            return
        for done, row in enumerate(rows):
            assert list(read_rows(path, row.end, row.number + 1)) == rows[done + 1 :]
    assert isinstance(header, list)
    ends = [row.end for row in rows]
    assert ends == sorted(set(ends)) and all(end <= len(content) for end in ends)
    assert [row.number for row in rows] == list(range(1, len(rows) + 1))
    for row in rows:  # a row read is text the database can store; one that is not says why
        assert row.problem or all(text_problem(cell) is None for cell in row.cells)


@FUZZ
@given(tables, st.booleans(), st.booleans())
def test_written_tables_read_back_and_resume_after_any_row(
    table: list[list[str]], bom: bool, quote_all: bool
) -> None:
    content = written(table, bom=bom, quote_all=quote_all)
    with csv_file(content) as path:
        header, rows = read_all(path)
        assert header == [cell.strip() for cell in table[0]]
        assert [row.cells for row in rows] == table[1:]
        for done in range(len(rows)):
            resumed = list(read_rows(path, rows[done].end, done + 2))
            assert resumed == rows[done + 1 :]


member_cells = st.lists(
    st.one_of(
        cell_text,
        st.sampled_from(
            ["a@example.com", " b@Example.COM ", "12", "31/12/2024", "02/29", "Paris", "x;y|z"]
        ),
    ),
    max_size=len(HEADER) + 2,
)


@FUZZ
@given(member_cells)
def test_any_members_row_is_checked_or_refused_with_a_reason(row: list[str]) -> None:
    try:
        checked = check_member(LAYOUT, row)
    except RowProblem as problem:
        assert str(problem)
        return
    assert checked.key == checked.values[1]  # email_key beside the email
    assert len(checked.values) == len(LAYOUT.columns)


# --- the JSONP writer (api/commandersact/jsonp.py), fuzzed here with the other readers and
# writers of untrusted text ----------------------------------------------------------------

IDENTIFIER = re.compile(r"[A-Za-z_$][A-Za-z0-9_$]{0,127}", re.ASCII)
callbacks = st.text(max_size=140) | st.from_regex(IDENTIFIER, fullmatch=True)
payloads = st.lists(st.text() | st.integers(), max_size=8)


@FUZZ
@given(callbacks, payloads)
def test_jsonp_is_a_call_of_a_plain_identifier_or_refused(
    callback: str, payload: list[object]
) -> None:
    try:
        body = jsonp_body(callback, payload)
    except ValueError:
        assert not IDENTIFIER.fullmatch(callback)
        return
    assert IDENTIFIER.fullmatch(callback)
    text = body.decode("ascii")  # JSON escaped as ASCII: no line separators, no odd bytes
    prefix = f"/**/{callback}("
    assert text.startswith(prefix) and text.endswith(");")
    assert json.loads(text[len(prefix) : -2]) == payload
