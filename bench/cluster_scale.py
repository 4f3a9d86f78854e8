"""``python -m bench.cluster_scale``: the analytics back-end's figures at tens of millions of
members, through the real code path, on two local ClickHouse shards or the embedded engine.

    python -m bench.cluster_scale --members 10000000 --events 100000000
        [--engine cluster|chdb] [--runs 3] [--chunk 20000] [--folder PATH] [--keep]

1. The system of record: a fresh SQLite file of ``--members`` members (``bench.scale_record``,
   set-based SQL), reused when complete.
2. The copy: two ``clickhouse-server`` shards as the tests start them, or chdb, filled
   set-based with the same members, their tags and ``--events`` campaign activity rows
   (``bench.scale_copy``), merged, and recorded as a full load; with ``--keep`` the folder
   stays (``bench/data/scale/``) and the next run reuses the copy.
3. Timed with ``SEGMENTD_ANALYTICS_URL`` set to it, as ``python -m bench`` times its
   figures: a new segment saved, built by the worker's code (``run_pending``: the sync, each
   chunk's range read on ClickHouse, the publish of who entered) until published, for
   "opened >= 3 campaigns in 30 days", "3 field conditions (and)" and a segment in one
   segment and not in another (the two built first, as ``bench.figures`` does); and the
   preview count of each (``segment_service.preview_count`` for the field segment; the source's
   ``count``, which it calls, for the native-only shapes); the rebuild of each (its
   condition saved again, a segment built once), and of the field segment with its age moved
   by one year each time (Age >= 30, then >= 31, ...: the members aged 30 move). Medians of
   ``--runs``, with the
   load average, peak RSS (this process, and each server) and the copy's bytes on disk.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from segmentd.analytics.full_load import Target
from segmentd.domain.native_form import parse_native
from segmentd.domain.validation import SegmentType
from segmentd.jobs.analytics_source import AnalyticsSource, analytics_source
from segmentd.services.segment_service import (
    SegmentDraft,
    count_condition,
    preview_count,
)
from segmentd.settings import Settings
from segmentd.storage.catalog import load_catalog
from segmentd.storage.db import Database

from . import conditions as c
from .figures import (
    NEAR_ALL,
    PAGED,
    Context,
    named_segment,
    native_wire,
    opened_three_of_30_days,
    referring_to_two,
    timed_rebuilds,
    timed_stored_build,
    wire,
)
from .runner import SECRET, peak_rss_mb
from .scale_copy import DATABASE, Place, fill, shard_places
from .scale_record import ensure_record

DATA = Path(__file__).parent / "data" / "scale"
FIELDS = "3 field conditions (and)"
SHAPES = ("opened >= 3 campaigns in 30 days", FIELDS, "segment referring to two others")


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--members", type=int, default=1_000_000)
    p.add_argument("--events", type=int, default=None, help="activity rows (10 per member)")
    p.add_argument("--engine", choices=("cluster", "chdb"), default="cluster")
    p.add_argument("--runs", type=int, default=3)
    p.add_argument("--chunk", type=int, default=20_000)
    p.add_argument("--folder", type=Path, default=DATA)
    p.add_argument("--keep", action="store_true", help="keep the copy for the next run")
    p.add_argument("--out", type=Path, default=None, help="write the results as JSON")
    return p


def load() -> str:
    return " ".join(f"{x:.1f}" for x in os.getloadavg())


def copy_sizes(rows: Callable[[str], list[Any]]) -> dict[str, int]:
    """Bytes on disk of each table of the copy (the live parts)."""
    found = rows(
        "SELECT table, sum(bytes_on_disk) FROM system.parts "
        f"WHERE database = '{DATABASE}' AND active GROUP BY table"
    )
    return {str(table): int(size) for table, size in found}


def is_filled(target: Target, tenant_id: int, members: int, events: int) -> bool:
    """Two queries, not one with a subquery: the cluster reads a subquery's Distributed table
    as each shard's local one (``distributed_product_mode = 'local'``)."""
    where = f"WHERE tenant_id = {int(tenant_id)}"
    try:
        (loaded,) = target.engine.rows(f"SELECT max(members) FROM {DATABASE}.tenant_loads {where}")
        (rows,) = target.engine.rows(f"SELECT count() FROM {DATABASE}.campaign_activity {where}")
    except Exception:  # no tables yet
        return False
    return [int(loaded[0] or 0), int(rows[0])] == [members, events]


def timed(action: Callable[[], Any], runs: int) -> tuple[list[float], Any]:
    times, result = [], None
    for _ in range(runs):
        started = time.perf_counter()
        result = action()
        times.append(time.perf_counter() - started)
    return times, result


def summary(times: list[float], scale: float = 1.0) -> dict[str, float]:
    return {
        "median": round(statistics.median(times) * scale, 3),
        "min": round(min(times) * scale, 3),
        "max": round(max(times) * scale, 3),
    }


def shapes(ctx: Context) -> dict[str, tuple[dict[str, Any], Callable[[], int]]]:
    """{name: (stored condition, its preview count)}."""
    db, dataset, settings = ctx.db, ctx.dataset, ctx.settings
    source = analytics_source(settings.analytics)
    assert source is not None
    with db.read() as conn:
        catalog = load_catalog(conn, dataset.tenant_id)
    three = c.field_condition(c.THREE)
    draft = SegmentDraft(segment_type=c.FIELD, condition=three, list_id=dataset.list_id)

    def native(raw: dict[str, Any]) -> tuple[dict[str, Any], Callable[[], int]]:
        condition = parse_native(raw, catalog, settings.tz)
        return native_wire(ctx, raw), lambda: source.count(
            db, dataset.tenant_id, dataset.list_id, condition
        )

    return {
        SHAPES[0]: native(opened_three_of_30_days(ctx)),
        FIELDS: (
            wire(ctx, c.FIELD, three),
            lambda: preview_count(db, dataset.tenant_id, draft, settings.tz, source),
        ),
        SHAPES[2]: native(referring_to_two(ctx)),
    }


def edited(ctx: Context) -> dict[str, Any]:
    """The three field conditions with the age moved by one year (Age >= 31)."""
    moved = [c.item("Age", ">=", "31"), *c.THREE[1:]]
    return wire(ctx, c.FIELD, c.field_condition(moved))


def record_count(ctx: Context) -> int:
    """The three field conditions counted on the system of record (SQLite)."""
    with ctx.db.read() as conn:
        return count_condition(
            conn,
            ctx.dataset.tenant_id,
            ctx.dataset.list_id,
            SegmentType(c.FIELD),
            c.field_condition(c.THREE),
            ctx.settings.tz,
        )


def measure(ctx: Context, runs: int) -> dict[str, Any]:
    results: dict[str, Any] = {}
    started = time.perf_counter()
    for name, raw in (NEAR_ALL, PAGED):  # the two referred to: built once, kept
        named_segment(ctx, name, raw)
    results["referred segments built (s)"] = round(time.perf_counter() - started, 1)
    for name, (condition, count) in shapes(ctx).items():
        print(f"  {name} ...", flush=True)
        counted, members = timed(count, 1)  # the first: copies referred segments
        if name == FIELDS:  # the copy holds the system of record's values
            assert members == record_count(ctx), "the copy and the system of record differ"
        previews, members = timed(count, runs)
        builds, _ = timed(lambda cond=condition: timed_stored_build(ctx, c.FIELD, cond), runs)
        rebuilds = timed_rebuilds(ctx, [condition], runs)
        results[name] = {
            "members": members,
            "build_s": summary(builds),
            "rebuild_s": summary(rebuilds),
            "rebuild_runs_s": [round(t, 2) for t in rebuilds],
            "preview_ms": summary(previews, 1000),
            "first_preview_ms": round(counted[0] * 1000),
            "load": load(),
        }
        if name == FIELDS:
            moved = timed_rebuilds(ctx, [condition, edited(ctx)], runs)
            results[name]["edited_rebuild_s"] = summary(moved)
            results[name]["edited_rebuild_runs_s"] = [round(t, 2) for t in moved]
        print(f"  {name}: {results[name]}", flush=True)
    return results


def open_copy(args: argparse.Namespace, folder: Path) -> tuple[str, list[Place], Any]:
    """The analytics URL, the places to write the copy, and the cluster (None: chdb)."""
    if args.engine == "chdb":
        return f"chdb://{folder.resolve()}", [], None
    from .scale_cluster import ScaleCluster, server_binary

    binary = server_binary()
    assert binary is not None, "no clickhouse-server (apt-get install clickhouse-server)"
    cluster = ScaleCluster(binary, folder)
    cluster.start()
    return cluster.url, shard_places(cluster.executes()), cluster


def main(argv: list[str] | None = None) -> dict[str, Any]:
    args = parser().parse_args(argv)
    events = args.events if args.events is not None else 10 * args.members
    args.folder.mkdir(parents=True, exist_ok=True)
    record = ensure_record(args.folder, args.members)
    print(f"system of record: {args.members:,} members ({record.seconds:.1f} s)", flush=True)
    folder = args.folder / f"{args.engine}-{args.members}-{events}"
    if record.seconds:  # a new system of record: a new copy
        shutil.rmtree(folder, ignore_errors=True)
    url, places, cluster = open_copy(args, folder)
    settings = Settings(
        database_url=record.dataset.url,
        worker=False,
        build_chunk_size=args.chunk,
        secret_key=SECRET,
        analytics_url=url,
    )
    source = analytics_source(settings.analytics)
    assert isinstance(source, AnalyticsSource)
    target = source.target
    results: dict[str, Any] = {"engine": args.engine, "members": args.members, "events": events}
    try:
        target.layout.create(target.engine, DATABASE)
        if not places:
            places = [Place(target.engine.execute)]
        if cluster is not None:
            from .scale_cluster import check_routing

            check_routing(cluster)
        if not is_filled(target, record.dataset.tenant_id, args.members, events):
            for name, done in fill(target.engine, places, record, events).items():
                print(f"copy: {name} {done:.1f} s", flush=True)
                results[f"copy {name} (s)"] = round(done, 1)
        db = Database(record.dataset.url, analytics_outbox=True)
        ctx = Context(db, record.dataset, settings)
        results["load before"] = load()
        results.update(measure(ctx, args.runs))
        results["peak RSS of this process (MiB)"] = round(peak_rss_mb())
        if cluster is not None:
            rows = [lambda sql, run=run: list(run(sql)) for run in cluster.executes()]
            sizes = [copy_sizes(r) for r in rows]
            results["copy bytes on disk"] = {t: sum(s.get(t, 0) for s in sizes) for t in sizes[0]}
            results["server peak RSS (MiB)"] = [round(x) for x in cluster.server_peak_rss_mb()]
        else:
            results["copy bytes on disk"] = copy_sizes(target.engine.rows)
        results["system of record bytes"] = os.path.getsize(db.url.split("///", 1)[1])
        db.dispose()
    finally:
        if cluster is not None:
            cluster.stop()
        if not args.keep:
            shutil.rmtree(folder, ignore_errors=True)
    print(json.dumps(results, indent=1), flush=True)
    if args.out:
        args.out.write_text(json.dumps(results, indent=1))
    return results


if __name__ == "__main__":
    main()
