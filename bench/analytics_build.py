"""``python -m bench.analytics_build``: a full build on the analytics back-end streamed by
member range (each chunk asks ClickHouse for its own members) against the former build that
selected every member first and held the whole id set, side by side in one run, on chdb.

    python -m bench.analytics_build [--members 100000] [--chunk 20000] [--runs 2] [--folder PATH]

Uses the SQLite data set of that size (generated once, ``bench.dataset``), loads it into
chdb on the first sync, then builds each condition of ``bench.analytics_scan`` both ways,
alternating, ``--runs`` times each: the time from the job's claim to its publish, and the
most member ids the build held at once (the whole set, or the largest chunk's). Both ways
must publish the same members.
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import sys
import time
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from segmentd.analytics.engine import open_engine
from segmentd.analytics.full_load import Target
from segmentd.database_urls import parse_analytics_url
from segmentd.domain.stored_form import dump_condition
from segmentd.jobs.analytics_build import answered_on
from segmentd.jobs.analytics_source import AnalyticsSource
from segmentd.jobs.build_plan import Plan
from segmentd.jobs.build_queue import claim_jobs, enqueue_build
from segmentd.jobs.build_runner import run_chunk
from segmentd.jobs.build_steps import Step, prepare
from segmentd.membership import MemberAnswer, store
from segmentd.storage.db import Database
from segmentd.storage.segments import get_segment

from .analytics_scan import conditions
from .databases import resolve
from .dataset import ensure_dataset
from .figures import Context, new_segment
from .runner import server_settings

DATABASE = "segmentd"


@dataclass
class Held:
    """An answer that notes the most ids the build held at once."""

    answer: MemberAnswer
    most: int = 0

    def ids_in(self, lo: int, hi: int) -> frozenset[int]:
        found = self.answer.ids_in(lo, hi)
        self.most = max(self.most, len(found))
        return found


def build(ctx: Context, source: AnalyticsSource, segment_id: str, whole: bool) -> dict[str, Any]:
    db, settings, tenant_id = ctx.db, ctx.settings, ctx.dataset.tenant_id
    with db.write() as conn:
        enqueue_build(conn, tenant_id, segment_id)
    started = time.perf_counter()
    (claim,) = claim_jobs(db, "bench-analytics-build", settings.lease_seconds, 1)
    assert claim.segment_id == segment_id
    plan = prepare(db, settings, claim)
    assert isinstance(plan, Plan)
    if whole:  # the former build: every selected id first, then the ranges from that set
        selected = source.select(db, tenant_id, plan.list_id, plan.condition)
        held = Held(selected, len(selected.ids))
    else:
        streamed = answered_on(source, db, claim, plan).answer
        assert streamed is not None
        held = Held(streamed)
    plan = replace(plan, answer=held)
    while run_chunk(db, settings, claim, plan) is Step.PROGRESS:
        pass
    seconds = time.perf_counter() - started
    with db.snapshot() as conn:
        segment = get_segment(conn, tenant_id, segment_id)
        assert segment is not None
        members = {m for batch in store().member_ids(conn, segment, 10_000) for m in batch}
    return {"s": seconds, "held_ids": held.most, "members": members}


def main(argv: list[str] | None = None) -> dict[str, Any]:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--members", type=int, default=100_000)
    parser.add_argument("--chunk", type=int, default=20_000)
    parser.add_argument("--runs", type=int, default=2)
    parser.add_argument("--folder", type=Path, default=None)
    args = parser.parse_args(argv)
    url = resolve("sqlite", args.members)
    Database(url).migrate()
    db = Database(url, analytics_outbox=True)
    dataset = ensure_dataset(db, args.members, 42)
    ctx = Context(db, dataset, server_settings(url, args.chunk))
    folder = args.folder or Path(__file__).parent / "data" / f"chdb-build-{args.members}"
    shutil.rmtree(folder, ignore_errors=True)
    engine = open_engine(parse_analytics_url(f"chdb://{folder.resolve()}"))
    source = AnalyticsSource(lambda: Target(engine, DATABASE))
    started = time.perf_counter()
    source.sync(db, dataset.tenant_id)
    print(f"first sync (full load): {time.perf_counter() - started:.1f} s", flush=True)
    results: dict[str, Any] = {}
    for name, condition in conditions(ctx).items():
        segment_id = new_segment(ctx, f"bench {name}", 0, dump_condition(condition))
        build(ctx, source, segment_id, whole=False)  # the first build (warms up), not timed
        runs: dict[str, list[dict[str, Any]]] = {"whole set": [], "streamed": []}
        for _ in range(args.runs):
            runs["whole set"].append(build(ctx, source, segment_id, whole=True))
            runs["streamed"].append(build(ctx, source, segment_id, whole=False))
        answers = {frozenset(r["members"]) for way in runs.values() for r in way}
        assert len(answers) == 1, f"{name}: the two ways published different members"
        results[name] = {
            way: {
                "median_s": round(statistics.median(r["s"] for r in done), 2),
                "held_ids": max(r["held_ids"] for r in done),
            }
            for way, done in runs.items()
        }
        results[name]["members"] = len(answers.pop())
        print(f"{name}: {results[name]}", flush=True)
    engine.close()
    db.dispose()
    return results


if __name__ == "__main__":
    main(sys.argv[1:])
