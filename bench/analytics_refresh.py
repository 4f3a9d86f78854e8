"""``python -m bench.analytics_refresh``: the day-boundary refresh of a list's time-dependent
segments on the system of record and on the analytics copy (chdb), side by side in one run.

    python -m bench.analytics_refresh [--members 100000] [--days 3] [--database sqlite|URL]

Two tenants with the same members and segments (``tests/support/refresh_world.py``: four
time-dependent segments of every moving kind, one referring to a segment, and one segment
referring to a time-dependent one), built on the system of record; the copy of the second
loaded once (timed); then, for each day, the clock moved past the tenant's day boundary and
each tenant's refresh run to its end (``jobs.refresh_runner.run_refresh``), timed, the
memberships compared. A fresh SQLite file under /tmp by default (or an empty database URL).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import tempfile
import time
from datetime import timedelta
from pathlib import Path

from tests.conftest import make_tenant
from tests.support.moving_clock import MovingClock
from tests.support.refresh_world import (
    EVENING,
    build_both,
    claims,
    memberships,
    refresh,
    seed,
)

from segmentd import clock
from segmentd.jobs import analytics_source as source_module
from segmentd.settings import Settings
from segmentd.storage.db import Database


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.analytics_refresh")
    parser.add_argument("--members", type=int, default=100_000)
    parser.add_argument("--days", type=int, default=3)
    parser.add_argument("--database", help="an empty database URL (default: SQLite in /tmp)")
    args = parser.parse_args(argv)
    folder = Path(tempfile.mkdtemp(prefix="bench-refresh-"))
    url = args.database or f"sqlite:///{folder / 'segmentd.db'}"
    db = Database(url, analytics_outbox=True)
    db.migrate()
    common = {"database_url": url, "secret_key": "bench-refresh", "worker": False}
    on_sql = Settings(**common)
    on_copy = Settings(**common, analytics_url=f"chdb://{folder / 'chdb'}")
    moving = MovingClock(EVENING)
    clock.set_source(moving)
    try:
        started = time.perf_counter()
        seeded = [seed(db, make_tenant(db, n), args.members) for n in ("sql", "copy")]
        sql, copy = build_both(db, on_sql, seeded)
        print(f"seeded and built in {time.perf_counter() - started:.1f} s", flush=True)
        source = source_module.analytics_source(on_copy.analytics)
        assert source is not None
        started = time.perf_counter()
        source.sync(db, copy.tenant_id)
        loaded = time.perf_counter() - started
        print(json.dumps({"copy loaded (s)": round(loaded, 2)}), flush=True)
        times: dict[str, list[float]] = {"sql": [], "copy": []}
        for day in range(1, args.days + 1):
            moving.set(EVENING + timedelta(days=day - 1, hours=1))
            found = claims(db, on_copy)
            for name, side, settings in (("sql", sql, on_sql), ("copy", copy, on_copy)):
                started = time.perf_counter()
                refresh(db, settings, found[side.tenant_id])
                times[name].append(time.perf_counter() - started)
            same = memberships(db, sql) == memberships(db, copy)
            print(
                json.dumps(
                    {
                        "day": day,
                        "sql (s)": round(times["sql"][-1], 2),
                        "copy (s)": round(times["copy"][-1], 2),
                        "same memberships": same,
                        "load": round(os.getloadavg()[0], 2),
                    }
                ),
                flush=True,
            )
        for name, values in times.items():
            print(
                f"{name}: median {statistics.median(values):.2f} s "
                f"(min {min(values):.2f}, max {max(values):.2f}, {len(values)} days, "
                f"{args.members:,} members, chunks of {on_sql.build_chunk_size:,})"
            )
    finally:
        clock.set_source(None)
        db.dispose()
        shutil.rmtree(folder, ignore_errors=True)


if __name__ == "__main__":
    main()
