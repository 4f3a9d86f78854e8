"""``python -m bench.history_cost``: what recording the membership history adds to builds.

    python -m bench.history_cost [--members 1000000] [--database sqlite|postgres|URL] [--runs 5]

Side by side in one process, runs alternating so that both see the same load: a new
segment's build (the 3-condition one of the suite: every member it selects enters, about
half the list) and a rebuild of a segment whose condition moves about 100,000 members each
time, each with the history recorded as segmentd records it, and with the publish's
difference left unstaged (``change_log.stage_query`` a no-op: the only work a build adds).
Then the change feed read back 100,000 changes, 1,000 a page. Prints medians and ratios.
"""

from __future__ import annotations

import argparse
import statistics
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import sqlalchemy as sa

from segmentd.jobs.build_worker import run_pending
from segmentd.services.segment_service import redefine_segment
from segmentd.storage import change_log
from segmentd.storage.catalog import load_catalog
from segmentd.storage.db import Database
from segmentd.storage.member_columns import field_column
from segmentd.storage.membership_history import last_seq, read_changes
from segmentd.storage.schema import members

from . import conditions as c
from .__main__ import DEFAULT_CHUNK, prepare
from .databases import resolve, tidy_postgres
from .dataset import ensure_dataset
from .figures import Context, drop_segment, new_segment, wire
from .runner import server_settings

MOVED = 100_000


@contextmanager
def history_off() -> Iterator[None]:
    real = change_log.stage_query
    change_log.stage_query = lambda *_args, **_kw: None  # type: ignore[assignment]
    try:
        yield
    finally:
        change_log.stage_query = real  # type: ignore[assignment]


def timed(ctx: Context, action: Callable[[], None]) -> float:
    tidy_postgres(ctx.db)
    started = time.perf_counter()
    action()
    run_pending(ctx.db, ctx.settings)
    return time.perf_counter() - started


def build_once(ctx: Context) -> float:
    condition = wire(ctx, c.FIELD, c.field_condition(c.THREE))
    segment_id = ""

    def save() -> None:
        nonlocal segment_id
        segment_id = new_segment(ctx, "bench history build", c.FIELD, condition)

    seconds = timed(ctx, save)
    drop_segment(ctx, segment_id)
    return seconds


def age_threshold(ctx: Context) -> int:
    """An age A such that about ``MOVED`` members have 30 <= Age < A."""
    with ctx.db.read() as conn:
        age = field_column(load_catalog(conn, ctx.dataset.tenant_id).fields["age"])
        counts = dict(
            conn.execute(
                sa.select(sa.func.floor(age), sa.func.count())
                .where(members.c.tenant_id == ctx.dataset.tenant_id, age >= 30)
                .group_by(sa.func.floor(age))
            ).all()
        )
    total = 0
    for value in sorted(counts):
        total += counts[value]
        if total >= MOVED:
            return int(value) + 1
    return 31


def rebuilds(ctx: Context, runs: int) -> tuple[list[float], list[float], list[int]]:
    """Rebuilds alternating between two conditions ~``MOVED`` members apart, with and without
    the history; and how many changes each recorded rebuild stored."""
    wide = wire(ctx, c.FIELD, c.field_condition([c.item("Age", ">=", "30")]))
    narrow = wire(ctx, c.FIELD, c.field_condition([c.item("Age", ">=", str(age_threshold(ctx)))]))
    segment_id = new_segment(ctx, "bench history rebuild", c.FIELD, wide)
    run_pending(ctx.db, ctx.settings)
    with ctx.db.write() as conn:  # warm up
        redefine_segment(
            conn, ctx.dataset.tenant_id, segment_id, name=None, segment_type=c.FIELD,
            condition=wide,
        )  # fmt: skip
    run_pending(ctx.db, ctx.settings)
    flip = [narrow, wide]
    on: list[float] = []
    off: list[float] = []
    recorded: list[int] = []
    for run in range(2 * runs):

        def redefine(k: int = run) -> None:
            with ctx.db.write() as conn:
                redefine_segment(
                    conn, ctx.dataset.tenant_id, segment_id, name=None,
                    segment_type=c.FIELD, condition=flip[k % 2],
                )  # fmt: skip

        before = _last(ctx)
        if run % 4 in (0, 3):
            on.append(timed(ctx, redefine))
            recorded.append(_last(ctx) - before)
        else:
            with history_off():
                off.append(timed(ctx, redefine))
    drop_segment(ctx, segment_id)
    return on, off, recorded


def _last(ctx: Context) -> int:
    with ctx.db.read() as conn:
        return last_seq(conn, ctx.dataset.tenant_id)


def feed_read(ctx: Context, count: int = 100_000, page: int = 1_000) -> tuple[float, int]:
    """Seconds to read the tenant's last ``count`` changes by the cursor, ``page`` at a time."""
    after = max(0, _last(ctx) - count)
    read = 0
    started = time.perf_counter()
    while read < count:
        with ctx.db.read() as conn:
            found = read_changes(conn, ctx.dataset.tenant_id, after_seq=after, limit=page)
        if not found:
            break
        read += len(found)
        after = found[-1].seq
    return time.perf_counter() - started, read


def main(argv: list[str] | None = None) -> dict[str, Any]:
    parser = argparse.ArgumentParser(prog="python -m bench.history_cost")
    parser.add_argument("--members", type=int, default=1_000_000)
    parser.add_argument("--database", default="sqlite")
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args(argv)
    url = resolve(args.database, args.members)
    prepare(url, args.members, 42)
    db = Database(url)
    ctx = Context(db, ensure_dataset(db, args.members, 42), server_settings(url, DEFAULT_CHUNK))
    build_once(ctx)  # warm up: statements compiled, caches filled
    builds_on: list[float] = []
    builds_off: list[float] = []
    for run in range(2 * args.runs):
        if run % 4 in (0, 3):
            builds_on.append(build_once(ctx))
        else:
            with history_off():
                builds_off.append(build_once(ctx))
    on, off, recorded = rebuilds(ctx, args.runs)
    feed_seconds, feed_rows = feed_read(ctx)
    result = {
        "database": args.database,
        "members": args.members,
        "build_on": builds_on,
        "build_off": builds_off,
        "rebuild_on": on,
        "rebuild_off": off,
        "recorded_per_rebuild": recorded,
        "feed_seconds": feed_seconds,
        "feed_rows": feed_rows,
    }
    for name in ("build", "rebuild"):
        with_h, without = (statistics.median(result[f"{name}_{k}"]) for k in ("on", "off"))
        print(
            f"{name}: with history {with_h:.2f} s, without {without:.2f} s, "
            f"ratio {with_h / without:.2f}",
            flush=True,
        )
    print(f"changes per rebuild: {recorded}")
    print(f"feed: {feed_rows} changes read in {feed_seconds:.2f} s")
    print(result)
    db.dispose()
    return result


if __name__ == "__main__":
    main()
