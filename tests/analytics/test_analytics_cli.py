"""``segmentd analytics load`` and ``drain``, run as a real process: it copies the database into the
embedded ClickHouse that SEGMENTD_ANALYTICS_URL names, with progress, replacing on a second
run; without the setting, with a server URL or an unknown tenant it says why and exits 1."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from segmentd.storage import analytics_outbox
from segmentd.storage.db import Database
from tests.conftest import Tenant
from tests.support.analytics_world import write_members
from tests.support.factories import add_member

SEGMENTD = str(Path(sys.executable).with_name("segmentd"))
# The loader from either database is proved in-process (test_clickhouse_*): the command once.
pytestmark = pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)


def _run(
    db_url: str, *args: str, analytics: str | None, command: str = "load"
) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("SEGMENTD_")}
    if analytics is not None:
        env["SEGMENTD_ANALYTICS_URL"] = analytics
    return subprocess.run(
        [SEGMENTD, "analytics", command, "--database", db_url, *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_load_prints_progress_and_replaces(
    db: Database, db_url: str, tenant: Tenant, tmp_path: Path
) -> None:
    for i in range(3):
        add_member(db, tenant.id, f"m{i}@example.com", tags=["vip"])
    url = f"chdb://{tmp_path / 'ch'}"
    for _ in range(2):  # the second run replaces the first
        done = _run(db_url, "--batch", "100", analytics=url)
        assert done.returncode == 0, done.stdout + done.stderr
        assert f"tenant {tenant.id} members: 3 rows" in done.stdout
        assert f"tenant {tenant.id} member_tags: 3 rows" in done.stdout
        assert "loaded 1 tenant(s), 6 rows" in done.stdout
    one = _run(db_url, "--tenant", str(tenant.id), analytics=url)
    assert one.returncode == 0 and "loaded 1 tenant(s), 6 rows" in one.stdout


def test_load_refuses_what_it_cannot_do(db: Database, db_url: str, tmp_path: Path) -> None:
    unset = _run(db_url, analytics=None)
    assert unset.returncode == 1 and "SEGMENTD_ANALYTICS_URL is not set" in unset.stdout
    server = _run(db_url, analytics="clickhouse://ch1/seg")
    assert server.returncode == 1 and "cannot open the analytics back-end" in server.stdout
    unknown = _run(db_url, "--tenant", "424242", analytics=f"chdb://{tmp_path / 'ch'}")
    assert unknown.returncode == 1 and "no tenant 424242" in unknown.stdout


def test_drain_brings_the_copy_up_to_date(db_url: str, tenant: Tenant, tmp_path: Path) -> None:
    outboxed = Database(db_url, analytics_outbox=True)
    try:
        write_members(outboxed, tenant.id, {"a@example.com": "Ann", "b@example.com": "Bob"})
        with outboxed.read() as conn:
            assert analytics_outbox.seqs_of(conn, tenant.id)
        url = f"chdb://{tmp_path / 'ch'}"
        done = _run(db_url, analytics=url, command="drain")
        assert done.returncode == 0, done.stdout + done.stderr
        assert f"tenant {tenant.id}: up to date as of" in done.stdout
        assert "drained 1 tenant(s)" in done.stdout
        with outboxed.read() as conn:
            assert analytics_outbox.seqs_of(conn, tenant.id) == []
        again = _run(db_url, analytics=url, command="drain")
        assert again.returncode == 0 and "drained 0 tenant(s)" in again.stdout
    finally:
        outboxed.dispose()
