"""What recording the membership history costs: the figures ``history: ...`` and ``change
feed: ...`` of ``python -m bench``, and ``python -m bench.history_cost``, which prints them
with a new segment's build beside them.

    python -m bench.history_cost [--members 1000000] [--database sqlite|postgres|URL] [--runs 5]

Side by side in one process, runs alternating (with, without, without, with) so that both see
the same load: a rebuild of a segment whose condition moves about 100,000 members each time
(a tenth of the list on smaller data sets; both conditions select at most half the list, so
the segment keeps the plain form, as most rebuilds keep theirs), with the history recorded as
segmentd records it, and with nothing staged for it (``change_log.stage_query`` and
``change_log.stage`` no-ops: the only work recording adds). A rebuild of a published segment
is applied in place, finding its difference either way: the figure is what the history adds
to that. The entry point also times a new segment's build (the 3-condition one of the
suite: every member it selects enters, about half the list) that way.
Then the change feed: the tenant's last 100,000 changes read by the cursor, 1,000 a page, as
``GET /v1/changes`` reads them (``services.history_service.tenant_feed``).
"""

from __future__ import annotations

import argparse
import statistics
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa

from segmentd.jobs.build_worker import run_pending
from segmentd.services.history_service import tenant_feed
from segmentd.services.segment_service import redefine_segment
from segmentd.storage import change_log
from segmentd.storage.catalog import load_catalog
from segmentd.storage.db import Database
from segmentd.storage.member_columns import field_column
from segmentd.storage.membership_history import last_seq
from segmentd.storage.schema import history_blocks, members

from . import conditions as c
from .databases import resolve, tidy_postgres
from .dataset import ensure_dataset
from .figures import Context, drop_segment, new_segment, wire

MOVED = 100_000  # members a rebuild moves (at most a tenth of the list)
FEED = 100_000  # changes the feed figure reads (at most ten per member of the list)
PAGE = 1_000


@contextmanager
def history_off() -> Iterator[None]:
    """Nothing staged for the history: neither a publish's set-based difference nor the rows
    of a rebuild in place (``change_log.stage``)."""
    real_query, real_rows = change_log.stage_query, change_log.stage
    change_log.stage_query = lambda *_args, **_kw: None  # type: ignore[assignment]
    change_log.stage = lambda *_args, **_kw: None  # type: ignore[assignment]
    try:
        yield
    finally:
        change_log.stage_query = real_query  # type: ignore[assignment]
        change_log.stage = real_rows  # type: ignore[assignment]


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


def age_thresholds(ctx: Context, moved: int) -> tuple[int, int]:
    """Ages (A, B) such that at most half the list has Age >= A (the segment keeps the plain
    form, as most rebuilds keep theirs) and about ``moved`` members have A <= Age < B."""
    with ctx.db.read() as conn:
        age = field_column(load_catalog(conn, ctx.dataset.tenant_id).fields["age"])
        counts = dict(
            conn.execute(
                sa.select(sa.func.floor(age), sa.func.count())
                .where(members.c.tenant_id == ctx.dataset.tenant_id, age.is_not(None))
                .group_by(sa.func.floor(age))
            ).all()
        )
    ages = sorted(counts, reverse=True)
    above, wide = 0, ages[0]
    for value in ages:  # from the oldest down, while at most half the list
        if above + counts[value] > ctx.dataset.members // 2:
            break
        above += counts[value]
        wide = value
    count, narrow = 0, wide
    for value in sorted(v for v in counts if v >= wide):
        if count >= moved:
            break
        count += counts[value]
        narrow = value + 1
    return int(wide), int(narrow)


@dataclass
class Flip:
    """A published segment whose every rebuild swaps its condition for the other one."""

    ctx: Context
    segment_id: str
    conditions: tuple[dict[str, Any], dict[str, Any]]
    rebuilt: int = 0

    def rebuild(self, recorded: bool = True) -> tuple[float, int]:
        """Seconds to redefine and rebuild it, and the changes the history gained."""
        ctx = self.ctx
        condition = self.conditions[self.rebuilt % 2]
        self.rebuilt += 1

        def redefine() -> None:
            with ctx.db.write() as conn:
                redefine_segment(
                    conn, ctx.dataset.tenant_id, self.segment_id, name=None,
                    segment_type=c.FIELD, condition=condition,
                )  # fmt: skip

        before = _last(ctx)
        if recorded:
            seconds = timed(ctx, redefine)
        else:
            with history_off():
                seconds = timed(ctx, redefine)
        return seconds, _last(ctx) - before

    def drop(self) -> None:
        drop_segment(self.ctx, self.segment_id)


def flip(ctx: Context, low: int, high: int, name: str = "bench history rebuild") -> Flip:
    """A segment flipping between Age >= ``low`` and Age >= ``high``, built, and rebuilt
    both ways once."""
    wide, narrow = (
        wire(ctx, c.FIELD, c.field_condition([c.item("Age", ">=", str(v))])) for v in (low, high)
    )
    segment = Flip(ctx, new_segment(ctx, name, c.FIELD, wide), (narrow, wide))
    run_pending(ctx.db, ctx.settings)
    segment.rebuild()  # warm up: statements compiled, caches filled
    segment.rebuild()
    return segment


def moving(ctx: Context) -> Flip:
    """The segment of the rebuild figure: each rebuild moves ``MOVED`` members (or a tenth
    of a smaller list)."""
    return flip(ctx, *age_thresholds(ctx, min(MOVED, ctx.dataset.members // 10)))


@dataclass
class Round:
    on: list[float]
    off: list[float]
    recorded: list[int]

    @property
    def added_percent(self) -> float:
        return 100 * (sum(self.on) / sum(self.off) - 1)


def rebuild_round(segment: Flip) -> Round:
    """Four rebuilds: with the history, without, without, with."""
    done = Round([], [], [])
    for recorded in (True, False, False, True):
        seconds, changes = segment.rebuild(recorded)
        if recorded:
            done.on.append(seconds)
            done.recorded.append(changes)
        else:
            done.off.append(seconds)
    return done


def rebuild_added(ctx: Context, runs: int) -> list[float]:
    """The figure: per run, the percentage recording the history adds to a rebuild's time."""
    segment = moving(ctx)
    try:
        rounds = [rebuild_round(segment) for _ in range(runs)]
    finally:
        segment.drop()
    ctx.notes.update(
        moved=[n for r in rounds for n in r.recorded],
        with_history_s=[round(s, 3) for r in rounds for s in r.on],
        without_s=[round(s, 3) for r in rounds for s in r.off],
    )
    return [r.added_percent for r in rounds]


def _last(ctx: Context) -> int:
    with ctx.db.read() as conn:
        return last_seq(conn, ctx.dataset.tenant_id)


def stored_changes(ctx: Context) -> int:
    with ctx.db.read() as conn:
        return int(
            conn.execute(
                sa.select(sa.func.coalesce(sa.func.sum(history_blocks.c.size), 0)).where(
                    history_blocks.c.tenant_id == ctx.dataset.tenant_id
                )
            ).scalar_one()
        )


def ensure_changes(ctx: Context, count: int) -> None:
    """At least ``count`` changes in the tenant's history: a segment rebuilt between half
    the list and nobody until there are (they stay in the data set)."""
    missing = count - stored_changes(ctx)
    if missing <= 0:
        return
    low, _high = age_thresholds(ctx, 0)
    segment = flip(ctx, low, 1_000, "bench history feed")
    while stored_changes(ctx) < count:
        segment.rebuild()
    segment.drop()


def feed_read(ctx: Context, count: int = FEED, page: int = PAGE) -> tuple[float, int]:
    """Seconds to read the tenant's last ``count`` changes by the cursor, ``page`` at a time."""
    after = max(0, _last(ctx) - count)
    read = 0
    started = time.perf_counter()
    while read < count:
        found = tenant_feed(ctx.db, ctx.dataset.tenant_id, after, min(page, count - read))
        if not found:
            break
        read += len(found)
        after = found[-1].seq
    return time.perf_counter() - started, read


def feed_seconds(ctx: Context, runs: int) -> list[float]:
    """The figure: seconds to read ``FEED`` changes (or ten per member of a smaller list)."""
    count = min(FEED, 10 * ctx.dataset.members)
    ensure_changes(ctx, count)
    tidy_postgres(ctx.db)  # as autovacuum would after those rebuilds
    feed_read(ctx, count)  # warm up
    times = []
    for _ in range(runs):
        seconds, read = feed_read(ctx, count)
        assert read == count, f"read {read} changes of {count}"
        times.append(seconds)
    ctx.notes["changes_read"] = count
    return times


def context_at(url: str, members: int) -> Context:
    """The figures' context on the data set of ``members`` at ``url``, with a server's
    settings (the history benchmarks' entry points)."""
    from .__main__ import DEFAULT_CHUNK
    from .runner import server_settings

    db = Database(url)
    return Context(db, ensure_dataset(db, members, 42), server_settings(url, DEFAULT_CHUNK))


def main(argv: list[str] | None = None) -> dict[str, Any]:
    from .__main__ import prepare

    parser = argparse.ArgumentParser(prog="python -m bench.history_cost")
    parser.add_argument("--members", type=int, default=1_000_000)
    parser.add_argument("--database", default="sqlite")
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args(argv)
    url = resolve(args.database, args.members)
    prepare(url, args.members, 42)
    ctx = context_at(url, args.members)
    db = ctx.db
    build_once(ctx)  # warm up: statements compiled, caches filled
    builds_on: list[float] = []
    builds_off: list[float] = []
    for run in range(2 * args.runs):
        if run % 4 in (0, 3):
            builds_on.append(build_once(ctx))
        else:
            with history_off():
                builds_off.append(build_once(ctx))
    added = rebuild_added(ctx, (args.runs + 1) // 2)
    feed = feed_seconds(ctx, args.runs)
    result = {
        "database": args.database,
        "members": args.members,
        "build_on": builds_on,
        "build_off": builds_off,
        "rebuild_on": ctx.notes["with_history_s"],
        "rebuild_off": ctx.notes["without_s"],
        "rebuild_added_percent": added,
        "recorded_per_rebuild": ctx.notes["moved"],
        "feed_seconds": feed,
        "feed_rows": ctx.notes["changes_read"],
    }
    for name in ("build", "rebuild"):
        with_h, without = (statistics.median(result[f"{name}_{k}"]) for k in ("on", "off"))
        print(
            f"{name}: with history {with_h:.2f} s, without {without:.2f} s, "
            f"ratio {with_h / without:.2f}",
            flush=True,
        )
    print(f"changes per rebuild: {result['recorded_per_rebuild']}")
    print(f"feed: {result['feed_rows']} changes read in {statistics.median(feed):.2f} s (median)")
    print(result)
    db.dispose()
    return result


if __name__ == "__main__":
    main()
