"""The history's cost counted in CPU seconds as well as wall seconds, for a machine others load.

    python -m bench.history_cpu [--members 1000000] [--database sqlite|postgres|URL] [--rounds 2]

The rebuild of the ``history: ...`` figure (``bench.history_cost``: a segment flipped between
two ``Age >=`` conditions, rounds of four rebuilds: with the history, without, without, with),
each rebuild timed by the wall clock and by the CPU it used: this process's (the build worker
runs in it; all of SQLite's work) plus, on a PostgreSQL server on this machine, the CPU of
every backend connected to the data set's database (``/proc/<pid>/stat``). When other
processes share the cores, a rebuild's wall time swings by more than the history costs; its
CPU time much less. Prints the medians of each kind; the percentages are not the figure's
(the publish runs on one core while the fill uses both), but compare code before and after.
"""

from __future__ import annotations

import argparse
import os
import resource
import statistics
import time
from collections.abc import Callable
from typing import Any

import sqlalchemy as sa

from segmentd.jobs.build_worker import run_pending
from segmentd.storage.db import Database

from . import history_cost
from .databases import resolve, tidy_postgres
from .figures import Context

TICKS = os.sysconf("SC_CLK_TCK")


def own_cpu() -> float:
    used = resource.getrusage(resource.RUSAGE_SELF)
    return used.ru_utime + used.ru_stime


def server_cpu(db: Database) -> float:
    """CPU seconds used so far by the backends of ``db``'s PostgreSQL database (0 on SQLite)."""
    if db.is_sqlite:
        return 0.0
    with db.read() as conn:
        pids = conn.execute(
            sa.text("SELECT pid FROM pg_stat_activity WHERE datname = current_database()")
        ).scalars()
        total = 0
        for pid in pids:
            try:
                with open(f"/proc/{pid}/stat") as stat:
                    fields = stat.read().rsplit(")", 1)[1].split()
            except OSError:  # ended, or a server elsewhere
                continue
            total += int(fields[11]) + int(fields[12])  # utime, stime
    return total / TICKS


def timed(ctx: Context, action: Callable[[], None]) -> tuple[float, float]:
    """Wall and CPU seconds of ``action`` and the builds it queues (``history_cost.timed``)."""
    tidy_postgres(ctx.db)
    cpu, wall = own_cpu() + server_cpu(ctx.db), time.perf_counter()
    action()
    run_pending(ctx.db, ctx.settings)
    return time.perf_counter() - wall, own_cpu() + server_cpu(ctx.db) - cpu


def rounds(ctx: Context, count: int) -> list[dict[str, Any]]:
    real = history_cost.timed
    history_cost.timed = timed  # type: ignore[assignment]
    found = []
    try:
        segment = history_cost.moving(ctx)
        try:
            for _ in range(count):
                for recorded in (True, False, False, True):
                    (wall, cpu), changes = segment.rebuild(recorded)  # type: ignore[misc]
                    load = os.getloadavg()[0]
                    found.append({"recorded": recorded, "wall": wall, "cpu": cpu, "load": load})
                    print(
                        f"  recorded {recorded!s:5}  wall {wall:6.3f} s  cpu {cpu:6.3f} s  "
                        f"changes {changes}  load {load}",
                        flush=True,
                    )
        finally:
            segment.drop()
    finally:
        history_cost.timed = real
    return found


def main(argv: list[str] | None = None) -> None:
    from .__main__ import prepare

    parser = argparse.ArgumentParser(prog="python -m bench.history_cpu")
    parser.add_argument("--members", type=int, default=1_000_000)
    parser.add_argument("--database", default="sqlite")
    parser.add_argument("--rounds", type=int, default=2)
    args = parser.parse_args(argv)
    url = resolve(args.database, args.members)
    prepare(url, args.members, 42)
    ctx = history_cost.context_at(url, args.members)
    db = ctx.db
    found = rounds(ctx, args.rounds)
    for kind in ("wall", "cpu"):
        on, off = (
            statistics.median(r[kind] for r in found if r["recorded"] is rec)
            for rec in (True, False)
        )
        print(f"{kind}: with {on:.3f} s, without {off:.3f} s, added {on - off:.3f} s")
    db.dispose()


if __name__ == "__main__":
    main()
