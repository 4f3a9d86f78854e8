"""CSV imports meeting what they cannot read, and their bounds: bad bytes, NUL, unclosed
quotes, huge headers and rows, repeated emails, tags per member. On SQLite and PostgreSQL."""

from __future__ import annotations

import random
from pathlib import Path
from typing import Any

import pytest

from segmentd.domain.fields import FieldType
from segmentd.imports import chunks as chunks_module
from segmentd.imports.import_jobs import Kind
from segmentd.imports.mapping import MappingError, map_header
from segmentd.imports.service import ImportRefused
from segmentd.imports.source import MAX_ROW_BYTES, SourceError, read_header, read_rows
from segmentd.storage.db import Database
from segmentd.storage.tags import MAX_TAGS_PER_MEMBER
from segmentd.storage.tenants import default_list_id
from tests.conftest import Tenant, make_tenant
from tests.support.factories import add_field, add_member
from tests.support.import_helpers import member_state, run_file, write_csv

ROWS = 30_000
BAD_ROW = 25_001  # as the CSV counts rows: 1 = the first after the header


@pytest.fixture
def list_id(db: Database, tenant: Tenant) -> int:
    with db.read() as conn:
        return default_list_id(conn, tenant.id)


def _big_file(path: Path, bad_line: bytes | None) -> Path:
    """ROWS members, about 1.7 MB (the bad row is past the first MiB); row BAD_ROW replaced."""
    lines = [b"email,name\n"]
    lines += [f"m{i}@example.com,Member number {i} of the file\n".encode() for i in range(ROWS)]
    if bad_line is not None:
        lines[BAD_ROW] = bad_line
    path.write_bytes(b"".join(lines))
    assert path.stat().st_size > 1024 * 1024 + 200_000
    return path


BAD_LINES = {
    "latin-1 byte": b"m25000@example.com,Ren\xe9\n",
    "unclosed quote": b'm25000@example.com,"Member 25000\n',
    "text after a quote": b'm25000@example.com,"Member" 25000\n',
    "NUL": b"m25000@example.com,Mem\x00ber\n",
}


@pytest.mark.parametrize("kind", list(BAD_LINES))
def test_a_bad_row_far_in_the_file_is_rejected_with_its_number_and_the_rest_imported(
    db: Database, tenant: Tenant, list_id: int, tmp_path: Path, kind: str
) -> None:
    path = _big_file(tmp_path / "m.csv", BAD_LINES[kind])
    job = run_file(db, path, list_id, chunk_rows=5000)
    assert (job.state, job.rows_done, job.created, job.rejected) == ("done", ROWS, ROWS - 1, 1)
    assert [error["row"] for error in job.errors] == [BAD_ROW]
    state = member_state(db, tenant.id)
    assert len(state) == ROWS - 1 and "m25000@example.com" not in state
    assert state["m25001@example.com"]["name"] == "Member number 25001 of the file"
    rejected = (tmp_path / "m.csv.rejected.csv").read_bytes().splitlines()
    assert rejected[1].startswith(f"{BAD_ROW},".encode()) and b"m25000@example.com" in rejected[1]


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
def test_a_helper_process_rejects_a_bad_byte_the_same_way(
    db: Database, tenant: Tenant, list_id: int, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(chunks_module, "BACKGROUND_MIN_BYTES", 0)
    path = _big_file(tmp_path / "m.csv", BAD_LINES["latin-1 byte"])
    job = run_file(db, path, list_id, chunk_rows=5000)
    assert (job.state, job.created, job.rejected) == ("done", ROWS - 1, 1)
    assert job.errors[0]["row"] == BAD_ROW and "not UTF-8 (byte 0xe9)" in job.errors[0]["reason"]


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
def test_an_import_stopped_around_a_bad_row_resumes_with_the_rows_that_follow(
    db: Database, tenant: Tenant, list_id: int, tmp_path: Path
) -> None:
    path = _big_file(tmp_path / "m.csv", BAD_LINES["unclosed quote"])
    stopped = run_file(db, path, list_id, chunk_rows=1000, max_chunks=25)
    assert stopped.rows_done == BAD_ROW - 1
    stopped = run_file(db, path, list_id, chunk_rows=1000, max_chunks=1)
    assert (stopped.rows_done, stopped.rejected) == (BAD_ROW - 1 + 1000, 1)
    done = run_file(db, path, list_id, chunk_rows=1000)
    assert (done.state, done.rows_done, done.created, done.rejected) == (
        "done",
        ROWS,
        ROWS - 1,
        1,
    )
    lines = (tmp_path / "m.csv.rejected.csv").read_text().splitlines()
    assert [line.split(",")[0] for line in lines[1:]] == [str(BAD_ROW)]


def test_a_file_not_in_utf8_is_refused_before_any_row(
    db: Database, tenant: Tenant, list_id: int, tmp_path: Path
) -> None:
    path = tmp_path / "latin1.csv"
    path.write_bytes("email,name\na@example.com,Ann\nb@example.com,Ren\xe9e\n".encode("latin-1"))
    with pytest.raises(ImportRefused, match=r"not UTF-8 \(byte 0xe9 on line 3\)"):
        run_file(db, path, list_id)
    assert member_state(db, tenant.id) == {}


def test_read_rows_numbers_csv_rows_not_lines_around_bad_rows(tmp_path: Path) -> None:
    path = tmp_path / "r.csv"
    path.write_bytes(
        b'email,note\na@x.io,"two\nlines"\nb@x.io,"bad" x\nc@x.io,\xff\n\nd@x.io,"open\ne@x.io,ok\n'
    )
    header, start = read_header(path)
    rows = list(read_rows(path, start, 1))
    assert header == ["email", "note"]
    assert [(row.number, row.cells[0], row.problem is None) for row in rows] == [
        (1, "a@x.io", True),
        (2, 'b@x.io,"bad" x', False),
        (3, "c@x.io", False),
        (4, 'd@x.io,"open', False),
        (5, "e@x.io", True),
    ]
    assert rows[0].cells == ["a@x.io", "two\nlines"]
    assert rows[2].problem == "cell 2 is not UTF-8 (byte 0xff)"
    assert rows[3].problem == "a quoted cell is never closed (the file ends inside the quotes)"
    for done, row in enumerate(rows):  # resuming after any row gives the rows that follow
        assert list(read_rows(path, row.end, row.number + 1)) == rows[done + 1 :]


def test_a_row_longer_than_the_limit_is_rejected_alone(tmp_path: Path) -> None:
    path = tmp_path / "long.csv"
    path.write_bytes(b"email\n" + b"a" * (MAX_ROW_BYTES + 10) + b"\nb@x.io\n")
    _, start = read_header(path)
    rows = list(read_rows(path, start, 1))
    assert [(row.number, row.problem is None) for row in rows] == [(1, False), (2, True)]
    assert "longer than" in (rows[0].problem or "") and rows[1].cells == ["b@x.io"]


@pytest.mark.parametrize(
    ("header", "message"),
    [
        (b"a," * 1_000_000 + b"email\n", "the header cannot be read: the row is longer than"),
        (b"email," + b"c," * 1000 + b"d\n", "the header has 1002 columns: at most 1000"),
        (b"email," + b"c" * 256 + b"\n", "column 2 of the header is longer than 255 characters"),
        (b"email,n\x00ame\n", "cell 2 must not contain the NUL character"),
        (b"email,\xffname\n", "cell 2 is not UTF-8"),
    ],
)
def test_header_bounds_refuse_the_file_with_a_short_message(
    tmp_path: Path, header: bytes, message: str
) -> None:
    path = tmp_path / "h.csv"
    path.write_bytes(header + b"a@example.com\n")
    with pytest.raises(SourceError) as error:
        read_header(path)
    assert message in str(error.value) and len(str(error.value)) < 200


def test_a_thousand_unknown_columns_give_a_short_error() -> None:
    header = ["email", *(f"column number {i} " + "x" * 200 for i in range(999))]
    with pytest.raises(MappingError) as error:
        map_header(header, [])
    message = str(error.value)
    assert "unknown columns: column number 0 " in message and "and 979 more" in message
    assert len(message) < 2000
    with pytest.raises(MappingError) as error:
        map_header(["email"] * 1000, [])
    assert "and 979 more" in str(error.value) and len(str(error.value)) < 2000


# --- repeated emails --------------------------------------------------------------------


def _repeating_rows(seed: int, rows: int = 300, emails: int = 12) -> list[list[str]]:
    """Rows of a few emails in any letter case, with blank and given cells and tags."""
    pick = random.Random(seed)
    out = []
    for i in range(rows):
        email = f"m{pick.randrange(emails)}@example.com"
        email = email.upper() if pick.random() < 0.2 else email
        name = pick.choice(["", "", f"Name {i}"])
        age = pick.choice(["", str(i)])
        tags = pick.choice(["", "", ";", f"t{i % 7}", f"t{i % 5}|t{i % 3}"])
        out.append([email, name, age, tags])
    return out


@pytest.mark.parametrize(
    ("tag_flag", "update_existing"), [(0, True), (1, True), (2, True), (1, False)]
)
def test_repeated_emails_folded_in_a_chunk_end_as_if_written_row_by_row(
    db: Database, tenant: Tenant, tmp_path: Path, tag_flag: int, update_existing: bool
) -> None:
    """One row per chunk writes each row on its own; big chunks fold an email's rows."""
    other = make_tenant(db, "other")
    lists = {}
    for who in (tenant, other):
        add_field(db, who.id, "Age", FieldType.NUMBER)
        add_member(db, who.id, "m1@example.com", name="Before", tags=["old"])
        with db.read() as conn:
            lists[who.id] = default_list_id(conn, who.id)
    path = write_csv(tmp_path / "r.csv", ["email", "name", "age", "tags"], _repeating_rows(7))
    options: dict[str, Any] = {"tag_flag": tag_flag, "update_existing": update_existing}
    one_by_one = run_file(db, path, lists[tenant.id], chunk_rows=1, **options)
    folded = run_file(db, path, lists[other.id], chunk_rows=10_000, **options)

    def comparable(tenant_id: int) -> dict[str, dict[str, Any]]:
        skip = ("id", "tenant_id", "list_id")
        state = member_state(db, tenant_id)
        return {key: {k: v for k, v in m.items() if k not in skip} for key, m in state.items()}

    assert comparable(other.id) == comparable(tenant.id)
    counts = ("rows_done", "created", "updated", "skipped", "rejected")
    assert [getattr(folded, c) for c in counts] == [getattr(one_by_one, c) for c in counts]


def test_a_fold_that_would_pass_the_tag_limit_rejects_the_later_row(
    db: Database, tenant: Tenant, list_id: int, tmp_path: Path
) -> None:
    half = MAX_TAGS_PER_MEMBER // 2 + 1
    rows = [
        ["a@example.com", ";".join(f"x{i}" for i in range(half))],
        ["a@example.com", ";".join(f"y{i}" for i in range(half))],
        ["a@example.com", "z"],
    ]
    job = run_file(db, write_csv(tmp_path / "f.csv", ["email", "tags"], rows), list_id)
    assert (job.created, job.updated, job.rejected) == (1, 1, 1)
    assert job.errors[0]["row"] == 2 and "at most 1000 tags" in job.errors[0]["reason"]
    assert len(member_state(db, tenant.id)["a@example.com"]["tags"]) == half + 1


# --- tags per member --------------------------------------------------------------------


def test_a_tags_cell_of_more_than_the_limit_is_rejected(
    db: Database, tenant: Tenant, list_id: int, tmp_path: Path
) -> None:
    many = ";".join(f"t{i}" for i in range(MAX_TAGS_PER_MEMBER + 1))
    enough = ";".join(f"t{i}" for i in range(MAX_TAGS_PER_MEMBER))
    rows = [["a@example.com", many], ["b@example.com", enough]]
    job = run_file(db, write_csv(tmp_path / "t.csv", ["email", "tags"], rows), list_id)
    assert (job.created, job.rejected) == (1, 1)
    assert job.errors[0]["reason"] == "a member has at most 1000 tags; the tags cell names 1001"
    assert len(member_state(db, tenant.id)["b@example.com"]["tags"]) == MAX_TAGS_PER_MEMBER


@pytest.mark.parametrize("tcid_column", [False, True])
def test_appending_past_the_limit_to_an_existing_member_rejects_that_row_only(
    db: Database, tenant: Tenant, list_id: int, tmp_path: Path, tcid_column: bool
) -> None:
    """Only the database knows an existing member's tags: the chunk is written again
    without the row that would pass the limit."""
    add_member(db, tenant.id, "full@example.com", tags=[f"old{i}" for i in range(995)])
    add_member(db, tenant.id, "room@example.com", tags=["old0"])
    rows = [
        ["full@example.com", "Full", ";".join(f"new{i}" for i in range(6))],
        ["room@example.com", "Room", ";".join(f"new{i}" for i in range(6))],
        ["fresh@example.com", "Fresh", "new0"],
        ["full@example.com", "Full again", "old1"],
    ]
    header = ["email", "name", "tags"]
    if tcid_column:
        header.append("tcid")
        rows = [[*row, str(i)] for i, row in enumerate(rows)]
    path = write_csv(tmp_path / "a.csv", header, rows)
    job = run_file(db, path, list_id, tag_flag=1)
    assert (job.created, job.updated, job.rejected) == (1, 1, 2)
    assert [(e["row"], e["reason"]) for e in job.errors] == [
        (1, "a member has at most 1000 tags"),
        (4, "a member has at most 1000 tags"),
    ]
    state = member_state(db, tenant.id)
    assert len(state["full@example.com"]["tags"]) == 995 and "name" not in state["full@example.com"]
    assert len(state["room@example.com"]["tags"]) == 7 and state["fresh@example.com"]["tags"]
    lines = (tmp_path / "a.csv.rejected.csv").read_text().splitlines()
    assert [line.split(",")[0] for line in lines[1:]] == ["1", "4"]
    assert all("full@example.com" in line for line in lines[1:])
    overwrite = run_file(db, path, list_id, tag_flag=0)
    assert overwrite.rejected == 0
    assert member_state(db, tenant.id)["full@example.com"]["tags"] == {"old1"}


def test_events_files_reject_unreadable_rows_too(
    db: Database, tenant: Tenant, tmp_path: Path
) -> None:
    from tests.support.factories import add_campaign

    add_member(db, tenant.id, "ann@example.com")
    campaign = add_campaign(db, tenant.id)
    path = tmp_path / "e.csv"
    path.write_bytes(b"email,event\nann@example.com,op\x00en\nann@example.com,click\n")
    job = run_file(db, path, campaign, kind=Kind.EVENTS)
    assert (job.state, job.created, job.rejected) == ("done", 1, 1)
    assert job.errors[0] == {
        "row": 1,
        "email": "ann@example.com",
        "reason": "cell 2 must not contain the NUL character (\\u0000)",
    }
