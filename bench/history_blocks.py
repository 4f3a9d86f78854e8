"""A member's history read from a long history of blocks: what ``GET
/v1/members/{id}/changes`` costs once a tenant has kept many publishes' changes.

    python -m bench.history_blocks --database URL [--publishes 180] [--samples 300]

Writes history that stays: run it on a copy of a 1,000,000-member data set (``sqlite3 ...
.backup``, ``CREATE DATABASE ... TEMPLATE``), never on the suite's own.

``--publishes`` synthetic publishes of the ``history: ...`` figure's size (111,467 random
members of the list each, half entering and half leaving, over 20 segment numbers no segment
has) are recorded through ``change_log`` as a publish records them (blocks of
``id_blocks.BLOCK`` sorted ids); then the changes of random members are read by
``membership_history.member_changes``, after 20 unmeasured reads.
"""

from __future__ import annotations

import argparse
import random
import statistics
import time

import sqlalchemy as sa

from segmentd.storage import change_log
from segmentd.storage.membership_history import member_changes
from segmentd.storage.schema import members

from .databases import resolve
from .figures import Context
from .history_cost import context_at

MOVED = 111_467  # the figure's rebuild moves about as many
SEGMENTS = 20
FIRST_NUMBER = 800_000  # segment numbers no segment of the data set has


def add_history(ctx: Context, publishes: int) -> int:
    """``publishes`` synthetic publishes recorded as a publish records them; changes added."""
    tenant_id, list_id = ctx.dataset.tenant_id, ctx.dataset.list_id
    with ctx.db.read() as conn:
        ids = [
            int(i)
            for i in conn.execute(
                sa.select(members.c.id).where(members.c.tenant_id == tenant_id)
            ).scalars()
        ]
    rng = random.Random(7)
    added = 0
    for publish in range(publishes):
        number = FIRST_NUMBER + publish % SEGMENTS
        segment_id = f"bench-history-{number}"
        names = {segment_id: change_log.SegmentName(number, list_id, named=publish >= SEGMENTS)}
        moved = rng.sample(ids, MOVED)
        with ctx.db.write() as conn:
            change_log.stage(
                conn,
                tenant_id,
                ((segment_id, m, k & 1) for k, m in enumerate(moved)),
                "build",
                names,
            )
        added += MOVED
    return added


def member_reads(ctx: Context, samples: int) -> tuple[list[float], list[int]]:
    with ctx.db.read() as conn:
        top = int(conn.execute(sa.select(sa.func.max(members.c.id))).scalar_one())
    rng = random.Random(11)
    times, counts = [], []
    for _ in range(samples):
        member = rng.randint(1, top)
        with ctx.db.read() as conn:
            started = time.perf_counter()
            changes = member_changes(conn, ctx.dataset.tenant_id, member, after_seq=0, limit=1_000)
            times.append(time.perf_counter() - started)
        counts.append(len(changes))
    return times, counts


def main(argv: list[str] | None = None) -> None:

    parser = argparse.ArgumentParser(prog="python -m bench.history_blocks")
    parser.add_argument("--database", required=True, help="URL of a copy of the data set")
    parser.add_argument("--members", type=int, default=1_000_000)
    parser.add_argument("--publishes", type=int, default=180)
    parser.add_argument("--samples", type=int, default=300)
    args = parser.parse_args(argv)
    url = resolve(args.database, args.members)
    ctx = context_at(url, args.members)
    db = ctx.db
    try:
        if args.publishes:
            started = time.perf_counter()
            added = add_history(ctx, args.publishes)
            print(f"history: {added} changes added ({time.perf_counter() - started:.0f} s)")
        member_reads(ctx, 20)  # warm up
        times, counts = member_reads(ctx, args.samples)
        times.sort()
        print(
            f"member history: median {1000 * statistics.median(times):.1f} ms, p99 "
            f"{1000 * times[int(0.99 * len(times))]:.1f} ms, max {1000 * times[-1]:.1f} ms;"
            f" changes per member median {statistics.median(counts)}",
            flush=True,
        )
    finally:
        db.dispose()


if __name__ == "__main__":
    main()
