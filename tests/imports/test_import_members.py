"""CSV member imports on SQLite and PostgreSQL: rows, rejections, tags, re-runs, resume."""

from __future__ import annotations

import csv
import json
import os
from pathlib import Path

import pytest
import sqlalchemy as sa

from segmentd.domain.fields import FieldType
from segmentd.imports import chunks as chunks_module
from segmentd.imports.import_jobs import ImportJob, ImportOptions, ImportState, Kind, claim_job
from segmentd.imports.runner import run_import
from segmentd.imports.service import ImportRefused, start_cli_import
from segmentd.imports.source import SourceError
from segmentd.storage.db import Database
from segmentd.storage.schema import build_jobs, import_jobs, segments
from segmentd.storage.segments import next_segment_number
from segmentd.storage.tenants import default_list_id
from tests.conftest import Tenant, make_tenant
from tests.conftest import test_settings as settings_for
from tests.support.factories import add_field, add_list, add_member
from tests.support.import_helpers import OWNER, member_state, run_file, write_csv
from tests.support.stored_conditions import stored_condition


@pytest.fixture
def list_id(db: Database, tenant: Tenant) -> int:
    add_field(db, tenant.id, "Age", FieldType.NUMBER)
    add_field(db, tenant.id, "Joined", FieldType.DATE, format="DD/MM/YYYY")
    add_field(db, tenant.id, "Birthday", FieldType.BIRTHDAY, format="MM/DD")
    add_field(db, tenant.id, "Plan", FieldType.DROPDOWN, options=["free", "pro"])
    add_field(db, tenant.id, "City")
    with db.read() as conn:
        return default_list_id(conn, tenant.id)


HEADER = ["email", "name", "tags", "Age", "joined", "BIRTHDAY", "plan", "city"]


def test_rows_are_stored_typed_and_bad_rows_rejected_with_reasons(
    db: Database, tenant: Tenant, list_id: int, tmp_path: Path
) -> None:
    path = write_csv(
        tmp_path / "m.csv",
        HEADER,
        [
            ["Ann@Example.com", "Ann", "vip;new", "42", "31/12/2020", "02/29", "pro", "Paris"],
            ["not-an-email", "Bad", "", "", "", "", "", ""],
            ["bob@example.com", "Bob", "", "forty", "", "", "", ""],
            ["cy@example.com", "Cy", "", "", "12/31/2020", "", "", ""],
            ["di@example.com", "Di", "", "", "", "13/01", "", ""],
            ["ed@example.com", "Ed", "", "", "", "", "gold", ""],
            ["fay@example.com", "", "", "", "", "", "", ""],
        ],
    )
    job = run_file(db, path, list_id)
    assert (job.state, job.rows_done, job.created, job.rejected) == ("done", 7, 2, 5)
    assert [(e["row"], e["email"]) for e in job.errors] == [
        (2, "not-an-email"),
        (3, "bob@example.com"),
        (4, "cy@example.com"),
        (5, "di@example.com"),
        (6, "ed@example.com"),
    ]
    reasons = [e["reason"] for e in job.errors]
    assert "email" in reasons[0] and "field Age" in reasons[1] and "field Joined" in reasons[2]
    assert "field Birthday" in reasons[3] and "field Plan" in reasons[4]
    state = member_state(db, tenant.id)
    assert set(state) == {"ann@example.com", "fay@example.com"}
    ann = state["ann@example.com"]
    assert ann["email"] == "Ann@Example.com" and ann["domain"] == "example.com"
    assert (ann["n1"], ann["n2"], ann["n3"], ann["t4"], ann["t5"]) == (
        42.0,
        18627,
        229,
        "pro",
        "Paris",
    )
    assert ann["tags"] == {"vip", "new"}
    with (tmp_path / "m.csv.rejected.csv").open(newline="") as handle:
        rejected = list(csv.reader(handle))
    assert rejected[0] == ["row", "reason", *HEADER]
    assert [line[0] for line in rejected[1:]] == ["2", "3", "4", "5", "6"]


def test_nul_characters_are_rejected_as_the_members_api_does(
    db: Database, tenant: Tenant, list_id: int, tmp_path: Path
) -> None:
    """The text rule on every cell: each row with NUL is rejected with its number, alone."""
    path = write_csv(
        tmp_path / "nul.csv",
        HEADER,
        [
            ["a@example.com", "A\0nn", "", "", "", "", "", ""],
            ["b@example.com", "Bob", "", "", "", "", "", "Pa\0ris"],
            ["c@example.com", "Cy", "v\0ip", "", "", "", "", ""],
            ["d@example.com", "Di", "", "", "", "", "", "Lyon"],
        ],
    )
    job = run_file(db, path, list_id)
    assert (job.state, job.created, job.rejected) == ("done", 1, 3)
    assert [(e["row"], e["reason"]) for e in job.errors] == [
        (1, "cell 2 must not contain the NUL character (\\u0000)"),
        (2, "cell 8 must not contain the NUL character (\\u0000)"),
        (3, "cell 3 must not contain the NUL character (\\u0000)"),
    ]
    assert set(member_state(db, tenant.id)) == {"d@example.com"}


@pytest.mark.parametrize(
    ("tag_flag", "expected"),
    [(0, {"b", "c"}), (1, {"a", "b", "c"}), (2, {"a", "b"})],
)
def test_tag_flag_rules_for_existing_members(
    db: Database, tenant: Tenant, list_id: int, tmp_path: Path, tag_flag: int, expected: set[str]
) -> None:
    add_member(db, tenant.id, "old@example.com", tags=["a", "b"])
    add_member(db, tenant.id, "blank@example.com", tags=["a"])
    path = write_csv(
        tmp_path / "t.csv",
        ["email", "tags"],
        [["old@example.com", "b|c"], ["blank@example.com", ""], ["new@example.com", "x;y"]],
    )
    job = run_file(db, path, list_id, tag_flag=tag_flag)
    assert (job.created, job.updated) == (1, 2)
    state = member_state(db, tenant.id)
    assert state["old@example.com"]["tags"] == expected
    assert state["blank@example.com"]["tags"] == {"a"}  # a blank cell leaves tags alone
    assert state["new@example.com"]["tags"] == {"x", "y"}  # new members always get theirs


def test_a_tags_cell_of_separators_only_clears_tags_on_overwrite(
    db: Database, tenant: Tenant, list_id: int, tmp_path: Path
) -> None:
    """Tags given but none named (``;``) is an empty list: overwrite clears, append adds none."""
    add_member(db, tenant.id, "old@example.com", tags=["a"])
    path = write_csv(tmp_path / "s.csv", ["email", "tags"], [["old@example.com", " ; | "]])
    assert run_file(db, path, list_id, tag_flag=1).updated == 1
    assert member_state(db, tenant.id)["old@example.com"]["tags"] == {"a"}
    assert run_file(db, path, list_id, tag_flag=0).updated == 1
    assert member_state(db, tenant.id)["old@example.com"]["tags"] == set()


def test_cells_with_tabs_backslashes_and_line_breaks_are_stored_as_given(
    db: Database, tenant: Tenant, list_id: int, tmp_path: Path
) -> None:
    """PostgreSQL takes the rows as COPY text: its escapes must not change a value."""
    odd = ["tab\there", "back\\slash \\N", "two\nlines", "cr\r\nlf", "\\N"]
    rows = [
        [f"m{i}@example.com", value, f"t\\{i}", "", "", "", "", value]
        for i, value in enumerate(odd)
    ]
    job = run_file(db, write_csv(tmp_path / "odd.csv", HEADER, rows), list_id)
    assert (job.created, job.rejected) == (len(odd), 0)
    state = member_state(db, tenant.id)
    for i, value in enumerate(odd):
        member = state[f"m{i}@example.com"]
        assert (member["name"], member["t5"], member["tags"]) == (value, value, {f"t\\{i}"})


def test_blank_cells_leave_stored_values_and_given_ones_replace_them(
    db: Database, tenant: Tenant, list_id: int, tmp_path: Path
) -> None:
    add_member(db, tenant.id, "ann@example.com", name="Ann", values={"Age": "30", "City": "Lyon"})
    path = write_csv(
        tmp_path / "u.csv", ["email", "name", "age", "city"], [["ANN@example.com", "", "31", ""]]
    )
    job = run_file(db, path, list_id)
    assert (job.created, job.updated) == (0, 1)
    ann = member_state(db, tenant.id)["ann@example.com"]
    assert (ann["email"], ann["name"], ann["n1"], ann["t5"]) == (
        "ANN@example.com",
        "Ann",
        31.0,
        "Lyon",
    )


def test_no_update_existing_skips_known_members(
    db: Database, tenant: Tenant, list_id: int, tmp_path: Path
) -> None:
    add_member(db, tenant.id, "ann@example.com", name="Ann", tags=["a"])
    path = write_csv(
        tmp_path / "s.csv",
        ["email", "name", "tags"],
        [["ann@example.com", "X", "b"], ["bo@example.com", "Bo", "b"]],
    )
    job = run_file(db, path, list_id, update_existing=False)
    assert (job.created, job.updated, job.skipped) == (1, 0, 1)
    state = member_state(db, tenant.id)
    assert state["ann@example.com"]["name"] == "Ann" and state["ann@example.com"]["tags"] == {"a"}
    assert state["bo@example.com"]["tags"] == {"b"}


def test_a_repeated_email_updates_the_member_an_earlier_row_created(
    db: Database, tenant: Tenant, list_id: int, tmp_path: Path
) -> None:
    path = write_csv(
        tmp_path / "d.csv",
        ["email", "name", "tags"],
        [
            ["a@example.com", "First", "x"],
            ["b@example.com", "B", ""],
            ["A@example.com", "Second", "y"],
        ],
    )
    job = run_file(db, path, list_id)
    assert (job.rows_done, job.created, job.updated) == (3, 2, 1)
    a = member_state(db, tenant.id)["a@example.com"]
    assert a["name"] == "Second" and a["tags"] == {"x", "y"}


def test_a_tcid_of_another_member_is_rejected(
    db: Database, tenant: Tenant, list_id: int, tmp_path: Path
) -> None:
    add_member(db, tenant.id, "owner@example.com", tcid="77")
    path = write_csv(
        tmp_path / "c.csv",
        ["email", "tcid"],
        [["thief@example.com", "77"], ["owner@example.com", "77"], ["x@example.com", "7a"]],
    )
    job = run_file(db, path, list_id)
    assert (job.created, job.updated, job.rejected) == (0, 1, 2)
    assert [(e["row"], "tcid" in e["reason"]) for e in job.errors] == [(1, True), (3, True)]


def test_running_the_same_file_again_changes_nothing(
    db: Database, tenant: Tenant, list_id: int, tmp_path: Path
) -> None:
    rows = [[f"m{i}@example.com", f"M{i}", "a;b", str(i), "", "", "free", ""] for i in range(30)]
    path = write_csv(tmp_path / "r.csv", HEADER, rows)
    first = run_file(db, path, list_id, chunk_rows=7)
    before = member_state(db, tenant.id)
    second = run_file(db, path, list_id, chunk_rows=7)
    assert (first.created, first.updated, second.created, second.updated) == (30, 0, 0, 30)
    assert member_state(db, tenant.id) == before


def test_an_interrupted_import_resumes_from_its_last_chunk(
    db: Database, tenant: Tenant, list_id: int, tmp_path: Path
) -> None:
    rows = [[f"m{i}@example.com", f"M{i}", f"t{i % 3}", str(i), "", "", "", ""] for i in range(50)]
    for bad in (5, 23, 41):
        rows[bad][0] = f"bad{bad}"
    path = write_csv(tmp_path / "big.csv", HEADER, rows)
    stopped = run_file(db, path, list_id, chunk_rows=10, max_chunks=2)
    assert (stopped.state, stopped.rows_done, stopped.rejected) == ("queued", 20, 1)
    resumed = run_file(db, path, list_id, chunk_rows=10)
    assert resumed.id == stopped.id
    assert (resumed.state, resumed.rows_done, resumed.created, resumed.rejected) == (
        "done",
        50,
        47,
        3,
    )
    assert len(member_state(db, tenant.id)) == 47
    lines = (tmp_path / "big.csv.rejected.csv").read_text().splitlines()
    assert [line.split(",")[0] for line in lines[1:]] == ["6", "24", "42"]


def test_a_chunk_that_outlives_its_lease_keeps_the_job(
    db: Database, list_id: int, tmp_path: Path
) -> None:
    """Every chunk takes longer than the lease: each one ends by renewing it for as long as
    three such chunks, so a rival asking right after a chunk finds the job held (chunks of
    a thousand rows: a window of a few hundred milliseconds, not a scheduler's slice)."""
    rows = [[f"m{i}@example.com", f"M{i}", "", str(i), "", "", "", ""] for i in range(3000)]
    path = write_csv(tmp_path / "slow.csv", HEADER, rows)
    settings = settings_for(db.url, lease_seconds=0.001)
    job, _ = start_cli_import(db, settings, list_id, Kind.MEMBERS, path, ImportOptions(), OWNER)
    rivals: list[ImportJob | None] = []

    def rival_asks(_job: ImportJob) -> None:
        if _job.rows_done < 3000:  # after the first two chunks
            rivals.append(claim_job(db, job.id, "rival:0:0", settings.lease_seconds))

    state = run_import(db, settings, job, OWNER, chunk_rows=1000, on_progress=rival_asks)
    assert state is ImportState.DONE
    assert rivals == [None, None]
    with db.read() as conn:
        attempts = conn.execute(sa.select(import_jobs.c.attempts).where(import_jobs.c.id == job.id))
        assert attempts.scalar_one() == 1


def test_a_changed_file_does_not_resume_the_old_job(
    db: Database, tenant: Tenant, list_id: int, tmp_path: Path
) -> None:
    path = write_csv(tmp_path / "f.csv", ["email"], [[f"m{i}@example.com"] for i in range(20)])
    stopped = run_file(db, path, list_id, chunk_rows=5, max_chunks=1)
    write_csv(path, ["email"], [[f"n{i}@example.com"] for i in range(20)])
    fresh = run_file(db, path, list_id, chunk_rows=5)
    assert fresh.id != stopped.id and (fresh.rows_done, fresh.created) == (20, 20)


def test_header_problems_refuse_the_import_before_any_row(
    db: Database, tenant: Tenant, list_id: int, tmp_path: Path
) -> None:
    path = write_csv(tmp_path / "h.csv", ["email", "Shoe"], [["a@example.com", "x"]])
    with pytest.raises(ImportRefused, match="unknown columns: Shoe"):
        run_file(db, path, list_id)
    assert member_state(db, tenant.id) == {}
    job = run_file(db, path, list_id, ignore_unknown=True)
    assert job.created == 1


def test_lists_of_other_tenants_are_kept_apart(
    db: Database, tenant: Tenant, list_id: int, tmp_path: Path
) -> None:
    other = make_tenant(db, "other")
    add_member(db, other.id, "a@example.com", name="Theirs")
    second_list = add_list(db, tenant.id)
    path = write_csv(tmp_path / "i.csv", ["email", "name"], [["a@example.com", "Mine"]])
    assert run_file(db, path, second_list).created == 1
    assert member_state(db, other.id)["a@example.com"]["name"] == "Theirs"


def test_segments_of_the_list_are_queued_for_a_rebuild(
    db: Database, tenant: Tenant, list_id: int, tmp_path: Path
) -> None:
    with db.write() as conn:
        conn.execute(
            sa.insert(segments).values(
                id="a" * 24,
                number=next_segment_number(conn, tenant.id),
                commandersact_id="0000000A",
                tenant_id=tenant.id,
                list_id=list_id,
                name="s",
                segment_type=0,
                condition=json.dumps(
                    stored_condition(
                        conn,
                        tenant.id,
                        {
                            "relation": "and",
                            "items": [{"field_name": "Age", "op": ">", "value": "1"}],
                        },
                    )
                ),
                status=2,
                percent=100,
                generation=0,
                member_total=0,
                created_at=0,
                updated_at=0,
            )
        )
    run_file(db, write_csv(tmp_path / "q.csv", ["email", "age"], [["a@example.com", "5"]]), list_id)
    with db.read() as conn:
        states = list(
            conn.execute(sa.select(build_jobs.c.state).order_by(build_jobs.c.id)).scalars()
        )
        status = conn.execute(sa.select(segments.c.status)).scalar_one()
    assert states == ["superseded", "queued"] and status == 1


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
def test_a_helper_process_checks_big_files_with_the_same_result(
    db: Database, tenant: Tenant, list_id: int, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    rows = [[f"m{i}@example.com", "N", "a", str(i), "", "", "", ""] for i in range(300)]
    rows[100][3] = "NaN!"
    rows[200][0] = rows[10][0]  # a repeat: the helper must cut chunks the same way
    path = write_csv(tmp_path / "p.csv", HEADER, rows)
    monkeypatch.setattr(chunks_module, "BACKGROUND_MIN_BYTES", 0)
    job = run_file(db, path, list_id, chunk_rows=64)
    assert (job.state, job.rows_done, job.created, job.updated, job.rejected) == (
        ImportState.DONE,
        300,
        298,
        1,
        1,
    )


class _DyingRules:
    """Rules whose helper process dies in the middle of the file (as if killed)."""

    email_at = 0
    keeps_cells = False

    def check(self, cells: list[str]) -> str:
        if cells[0] == "die":
            os._exit(3)
        return cells[0]

    def place(self, chunk: chunks_module.Chunk, number: int, row: str) -> bool:
        chunk.good.append((number, row))
        return True


def test_a_helper_that_dies_is_an_error_not_a_hang(tmp_path: Path) -> None:
    path = write_csv(tmp_path / "d.csv", ["email"], [[f"m{i}"] for i in range(50)] + [["die"]])
    where = chunks_module.Slice(str(path), len("email\r\n"), 1, 10)
    # A file size far over BACKGROUND_MIN_BYTES: the rows are checked in a helper process.
    got = chunks_module.chunks(_DyingRules(), where, 10**9)
    with pytest.raises(SourceError, match="the process checking rows died"):
        list(got)
