"""``python -m bench.analytics_load``: the rate of the full load (``segmentd analytics load``,
``analytics.full_load.load_tenant``) from a data set of the system of record into a fresh
ClickHouse copy, in rows per second, per table and in all, on the embedded engine or on a
cluster of two ``clickhouse-server`` processes started for the run.

    python -m bench.analytics_load [--members 1000000] [--database sqlite|postgres|URL]
                                   [--engine chdb|cluster] [--runs 3] [--batch N]

Each run loads tenant 1 into a database of its own (the engine's folder is removed at the
end: a ``DROP DATABASE`` over ``Distributed`` tables can wait on the servers' background
work). Prints one JSON line
per run and the median, min and max of the rate, with the load average before and after.
Run it from another worktree's ``src`` (``PYTHONPATH=/tmp/before/src:.``) to time the code
before a change the same way.
"""

from __future__ import annotations

import argparse
import inspect
import json
import os
import shutil
import statistics
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from segmentd.analytics.full_load import LoadProgress, Target, load_tenant
from segmentd.membership import store
from segmentd.storage.db import Database

from .databases import resolve


@contextmanager
def chdb_targets(folder: Path) -> Iterator[Any]:
    from segmentd.analytics.engine import ChdbEngine

    engine = ChdbEngine(str(folder / "chdb"))
    try:
        yield lambda database: Target(engine, database)
    finally:
        engine.close()


@contextmanager
def cluster_targets(folder: Path) -> Iterator[Any]:
    from tests.support.clickhouse_cluster import ClickHouseCluster, server_binary

    from segmentd.analytics_cluster.cluster_engine import open_cluster
    from segmentd.database_urls import AnalyticsTarget

    binary = server_binary()
    if binary is None:
        raise SystemExit("no clickhouse-server here")
    cluster = ClickHouseCluster(binary, folder / "cluster")
    cluster.start()
    port = cluster.shards[0].ports.tcp
    try:

        def target(database: str) -> Target:
            address = AnalyticsTarget("clickhouse", database, host="127.0.0.1", port=port)
            engine = open_cluster(address)
            return Target(engine, database, engine)

        yield target
    finally:
        cluster.stop()


def one_run(db: Database, target: Target, batch: int | None) -> dict[str, Any]:
    """Load tenant 1 once; rows and seconds per table (the time from the table's first batch
    to its last, the reading included), and in all."""
    marks: dict[str, list[float]] = {}
    rows: dict[str, int] = {}

    def progress(p: LoadProgress) -> None:
        marks.setdefault(p.table, [time.perf_counter()]).append(time.perf_counter())
        rows[p.table] = p.rows

    options: dict[str, Any] = {"progress": progress}
    if batch is not None:
        options["batch"] = batch
    load = time.perf_counter()
    previous = load
    written = load_tenant(db, target, store().member_ids, 1, **options)
    seconds = time.perf_counter() - load
    tables = {}
    for table, (first, *_rest) in marks.items():
        last = marks[table][-1]
        start = min(previous, first)
        tables[table] = {"rows": rows[table], "seconds": round(last - start, 2)}
        previous = last
    total = sum(written.values())
    return {
        "rows": total,
        "seconds": round(seconds, 2),
        "rows_per_s": round(total / seconds),
        "tables": tables,
    }


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.analytics_load")
    parser.add_argument("--members", type=int, default=1_000_000)
    parser.add_argument("--database", default="sqlite")
    parser.add_argument("--engine", choices=["chdb", "cluster"], default="chdb")
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--batch", type=int, help="rows per insert (the default: the code's)")
    args = parser.parse_args(argv)
    url = resolve(args.database, args.members)
    db = Database(url)
    code = inspect.getsourcefile(load_tenant)
    folder = Path(tempfile.mkdtemp(prefix="bench-load-"))
    targets = chdb_targets if args.engine == "chdb" else cluster_targets
    rates = []
    try:
        with targets(folder) as target_of:
            for run in range(args.runs):
                target = target_of(f"bench_load_{os.getpid()}_{run}")
                before = os.getloadavg()[0]
                found = one_run(db, target, args.batch)
                found.update(
                    run=run,
                    engine=args.engine,
                    database=args.database,
                    members=args.members,
                    load=[round(before, 2), round(os.getloadavg()[0], 2)],
                    code=code,
                )
                print(json.dumps(found), flush=True)
                rates.append(found["rows_per_s"])
    finally:
        db.dispose()
        shutil.rmtree(folder, ignore_errors=True)
    print(
        f"{args.engine} {args.database} {args.members:,} members: median "
        f"{statistics.median(rates):,.0f} rows/s (min {min(rates):,}, max {max(rates):,}, "
        f"{len(rates)} runs)"
    )


if __name__ == "__main__":
    main()
