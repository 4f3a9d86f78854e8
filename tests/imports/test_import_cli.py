"""``segmentd import members|events`` as real processes, including a SIGKILL mid-import."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest
import sqlalchemy as sa

from segmentd.domain.fields import FieldType
from segmentd.storage.db import Database
from segmentd.storage.schema import import_jobs, members
from segmentd.storage.tenants import default_list_id
from tests.conftest import Tenant, wait_until
from tests.support.factories import add_campaign, add_field, add_member
from tests.support.import_helpers import write_csv

SEGMENTD = str(Path(sys.executable).with_name("segmentd"))
ROWS = 20_000
BAD = {17, 4_321, 9_999, 19_998}  # rows (0-based) with a bad email


def _env() -> dict[str, str]:
    return {k: v for k, v in os.environ.items() if not k.startswith("SEGMENTD_")}


def _cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [SEGMENTD, "import", *args], env=_env(), capture_output=True, text=True, timeout=300
    )


def _rows_done(db: Database) -> int:
    with db.read() as conn:
        return int(conn.execute(sa.select(sa.func.max(import_jobs.c.rows_done))).scalar() or 0)


@pytest.mark.slow
def test_a_killed_import_resumes_and_ends_with_exact_counts(
    db: Database, db_url: str, tenant: Tenant, tmp_path: Path
) -> None:
    add_field(db, tenant.id, "Age", FieldType.NUMBER)
    with db.read() as conn:
        list_id = default_list_id(conn, tenant.id)
    rows = [
        [f"bad{i}" if i in BAD else f"m{i}@example.com", f"M{i}", str(i % 90), f"t{i % 5};all"]
        for i in range(ROWS)
    ]
    path = write_csv(tmp_path / "members.csv", ["email", "name", "age", "tags"], rows)
    args = [str(path), "--list", str(list_id), "--chunk-rows", "100", "--database", db_url]
    first = subprocess.Popen(
        [SEGMENTD, "import", "members", *args],
        env=_env(),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        wait_until(lambda: _rows_done(db) >= 2_000, timeout=120, interval=0.01)
    finally:
        first.send_signal(signal.SIGKILL)
        first.wait()
    killed_at = _rows_done(db)
    assert 0 < killed_at < ROWS, "the import finished before it could be killed"

    second = _cli("members", *args)
    assert second.returncode == 0, second.stdout + second.stderr
    assert "Resuming import" in second.stderr and f"after row {killed_at}" in second.stderr
    with db.read() as conn:
        job = conn.execute(sa.select(import_jobs)).one()
        count = conn.execute(sa.select(sa.func.count()).select_from(members)).scalar_one()
    assert (job.state, job.rows_done, job.created, job.updated) == ("done", ROWS, ROWS - 4, 0)
    assert (job.rejected, count) == (len(BAD), ROWS - len(BAD))
    rejected = (tmp_path / "members.csv.rejected.csv").read_text().splitlines()
    assert [line.split(",")[0] for line in rejected[1:]] == [str(i + 1) for i in sorted(BAD)]


@pytest.mark.slow
def test_cli_refuses_unknown_columns_and_imports_events(
    db: Database, db_url: str, tenant: Tenant, tmp_path: Path
) -> None:
    member_id = add_member(db, tenant.id, "ann@example.com")
    with db.read() as conn:
        list_id = default_list_id(conn, tenant.id)
    bad = write_csv(tmp_path / "bad.csv", ["email", "shoe"], [["a@example.com", "1"]])
    refused = _cli("members", str(bad), "--list", str(list_id), "--database", db_url)
    assert refused.returncode == 2 and "unknown columns: shoe" in refused.stderr
    campaign = add_campaign(db, tenant.id)
    events = write_csv(
        tmp_path / "events.csv", ["member_id", "event"], [[str(member_id), "click"], ["42", "open"]]
    )
    done = _cli("events", str(events), "--campaign", str(campaign), "--database", db_url)
    assert done.returncode == 0, done.stderr
    assert "1 rejected" in " ".join(done.stderr.split())
