"""SIGKILL a worker in the middle of a daily refresh, start another: the refresh resumes from
its last committed chunk and ends with exactly the day's members."""

from __future__ import annotations

import subprocess
from datetime import datetime, timedelta
from pathlib import Path

import pytest

from segmentd.domain.fields import FieldType
from segmentd.jobs.build_worker import run_pending
from segmentd.storage.db import Database
from tests.conftest import make_tenant
from tests.conftest import test_settings as settings_for
from tests.jobs.test_daily_refresh import (
    ZONE,
    add_stored_segment,
    condition_of,
)
from tests.support.day_leaf import recent_leaf, stored
from tests.support.factories import add_field
from tests.support.moving_clock import moving_clock
from tests.support.refresh_crash import killed_then_resumed, seed_joined, start_worker

pytestmark = pytest.mark.slow

MEMBERS = 20_000
# ``segmentd worker`` with the tests' time-dependent leaf registered.
WORKER = """
import sys
from segmentd.jobs.build_worker import run_forever
from segmentd.settings import Settings
from tests.support.day_leaf import recent_leaf

with recent_leaf():
    run_forever(Settings(database_url=sys.argv[1]))
"""


def test_sigkill_mid_refresh_then_restart_ends_with_exactly_the_days_members(
    db_url: str, tmp_path: Path, children: list[subprocess.Popen[bytes]]
) -> None:
    db = Database(db_url)
    db.migrate()
    log_path = tmp_path / "worker.log"
    try:
        with recent_leaf():
            tenant = make_tenant(db)
            field = add_field(db, tenant.id, "Joined", FieldType.DATE, format="MM/DD/YYYY")
            seed_joined(db, tenant.id, field.slot, MEMBERS)
            # Built yesterday: the worker finds them due when it starts.
            with moving_clock(datetime.now(ZONE) - timedelta(days=1)):
                ids = [
                    add_stored_segment(db, tenant.id, condition_of(stored(field, days)))
                    for days in (0, 2, 5)
                ]
                run_pending(db, settings_for(db_url, build_chunk_size=5_000))

            def start(env: dict[str, str]) -> subprocess.Popen[bytes]:
                return start_worker(WORKER, [db_url], env, log_path, children)

            killed_then_resumed(db, tenant.id, ids, start, log_path, MEMBERS, timeout=60)
            if db.is_sqlite:
                with db.read() as conn:
                    assert conn.exec_driver_sql("PRAGMA integrity_check").scalar_one() == "ok"
    finally:
        db.dispose()
