"""How long a rebuild holds the database's writer, in place and as a new generation.

    python -m bench.rebuild_holds [--members 1000000] [--database sqlite|postgres|URL] [--rounds 3]

The rebuild of the ``history: ...`` figure (``bench.history_cost``: a segment flipped between
two ``Age >=`` conditions, about 100,000 members moving each time), run alternately in place
(``rebuild_in_place_limit`` as set) and as a new generation built range by range (the limit
at 0), with the history recorded. For each rebuild: its wall and CPU seconds
(``bench.history_cpu``), and its write transactions (``Database.write``): how many, and the
longest. On SQLite a write transaction holds the one writer: other writers (real-time
updates, imports) wait for it; on PostgreSQL it holds the segment row's lock, which the
real-time updates of that segment wait for.
"""

from __future__ import annotations

import argparse
import statistics
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from sqlalchemy.engine import Connection

from segmentd.storage.db import Database

from . import history_cost, history_cpu
from .figures import Context

HOLDS: list[float] = []


def timed_writes() -> None:
    """Every ``Database.write`` of the process timed into ``HOLDS``."""
    real = Database.write

    @contextmanager
    def write(self: Database) -> Iterator[Connection]:
        started = time.perf_counter()
        try:
            with real(self) as conn:
                yield conn
        finally:
            HOLDS.append(time.perf_counter() - started)

    Database.write = write  # type: ignore[assignment,method-assign]


def rounds(ctx: Context, count: int, limit: int) -> list[dict[str, Any]]:
    real = history_cost.timed
    history_cost.timed = history_cpu.timed  # type: ignore[assignment]
    settings = {"in place": ctx.settings.model_copy(update={"rebuild_in_place_limit": limit})}
    settings["new generation"] = ctx.settings.model_copy(update={"rebuild_in_place_limit": 0})
    found = []
    try:
        segment = history_cost.moving(ctx)
        try:
            for _ in range(count):
                for kind in ("in place", "new generation", "new generation", "in place"):
                    ctx.settings = settings[kind]
                    HOLDS.clear()
                    (wall, cpu), changes = segment.rebuild()  # type: ignore[misc]
                    row = {"kind": kind, "wall": wall, "cpu": cpu, "longest": max(HOLDS)}
                    found.append(row)
                    print(
                        f"  {kind:14}  wall {wall:6.3f} s  cpu {cpu:6.3f} s  "
                        f"writes {len(HOLDS):3}  longest {max(HOLDS):6.3f} s  changes {changes}",
                        flush=True,
                    )
        finally:
            segment.drop()
    finally:
        history_cost.timed = real
    return found


def main(argv: list[str] | None = None) -> None:
    from .__main__ import prepare
    from .databases import resolve

    parser = argparse.ArgumentParser(prog="python -m bench.rebuild_holds")
    parser.add_argument("--members", type=int, default=1_000_000)
    parser.add_argument("--database", default="sqlite")
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args(argv)
    url = resolve(args.database, args.members)
    prepare(url, args.members, 42)
    timed_writes()
    ctx = history_cost.context_at(url, args.members)
    db, settings = ctx.db, ctx.settings
    found = rounds(ctx, args.rounds, settings.rebuild_in_place_limit)
    for kind in ("in place", "new generation"):
        mine = [r for r in found if r["kind"] == kind]
        medians = {k: statistics.median(r[k] for r in mine) for k in ("wall", "cpu", "longest")}
        print(
            f"{kind}: wall {medians['wall']:.3f} s, cpu {medians['cpu']:.3f} s, "
            f"longest write {medians['longest']:.3f} s (max {max(r['longest'] for r in mine):.3f})"
        )
    db.dispose()


if __name__ == "__main__":
    main()
