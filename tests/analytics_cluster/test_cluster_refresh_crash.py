"""SIGKILL a ``segmentd worker`` in the middle of a daily refresh answered on the two-shard
cluster, start another: the refresh resumes from its last committed chunk (the copy synced
again) and ends with exactly the day's members, every count exact half-way."""

from __future__ import annotations

import subprocess
from datetime import datetime, timedelta
from pathlib import Path

import pytest

from segmentd.domain.fields import FieldType
from segmentd.jobs.build_worker import run_pending
from segmentd.settings import Settings
from segmentd.storage.db import Database
from tests.conftest import make_tenant
from tests.jobs.test_daily_refresh import ZONE
from tests.support.factories import add_field, add_segment_row
from tests.support.moving_clock import moving_clock
from tests.support.refresh_crash import killed_then_resumed, seed_joined, start_worker
from tests.support.stored_conditions import stored_native

pytestmark = pytest.mark.slow

MEMBERS = 6_000
WORKER = """
from segmentd.jobs.build_worker import run_forever
from segmentd.settings import Settings

run_forever(Settings())
"""


def test_sigkill_mid_refresh_on_the_cluster_then_restart_ends_exact(
    settings: Settings, tmp_path: Path, children: list[subprocess.Popen[bytes]]
) -> None:
    db = Database(settings.database_url)
    log_path = tmp_path / "worker.log"
    try:
        tenant = make_tenant(db)
        field = add_field(db, tenant.id, "Joined", FieldType.DATE, format="MM/DD/YYYY")
        seed_joined(db, tenant.id, field.slot, MEMBERS)
        # Built yesterday on the system of record: the worker finds them due when it starts.
        with moving_clock(datetime.now(ZONE) - timedelta(days=1)):
            ids = []
            for days in (1, 2, 5):
                native = {"all": [{"kind": "field", "field": "Joined", "op": "in_last",
                                   "amount": days, "unit": "days"}]}  # fmt: skip
                with db.read() as conn:
                    stored = stored_native(conn, tenant.id, native, ZONE)
                ids.append(add_segment_row(db, tenant.id, stored))
            on_sql = settings.model_copy(update={"analytics_url": None, "build_chunk_size": 5_000})
            run_pending(db, on_sql)

        env = {
            "SEGMENTD_DATABASE_URL": settings.database_url,
            "SEGMENTD_ANALYTICS_URL": str(settings.analytics_url),
        }

        def start(extra: dict[str, str]) -> subprocess.Popen[bytes]:
            return start_worker(WORKER, [], {**env, **extra}, log_path, children)

        killed_then_resumed(db, tenant.id, ids, start, log_path, MEMBERS, timeout=120)
        assert "answered chunk by chunk on the analytics copy" in log_path.read_text()
    finally:
        db.dispose()
