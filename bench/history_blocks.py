"""A publish's changes stored as blocks of member ids: what the ``history: ...`` figure would
be, and what a member's history would cost to read, measured before any reader is converted.

    python -m bench.history_blocks --database URL [--passes 3] [--publishes 180]

``BENCH_HISTORY_BLOCK`` sets the ids a block holds at most (default 1,000; also read by the
``blocks_python`` way of ``bench.history_parts``).

Writes scratch rows: run it on a copy of a 1,000,000-member data set (``sqlite3 ... .backup``,
``CREATE DATABASE ... TEMPLATE``), never on the suite's own.

The rebuild of the figure (``bench.history_cpu``'s rounds: with the history, without, without,
with), in passes that alternate two ways of recording a publish:

- ``rows``: as segmentd records it (a row per change, three b-trees);
- ``blocks``: the publish's difference, packed by the database into one value (member id * 2
  + change: a JSON array on SQLite, an array on PostgreSQL), cut in Python into blocks of at
  most ``BLOCK`` sorted ids of one change kind, each stored as one row of
  ``bench_change_blocks``: its last seq, its count, its id range ``[lo, hi]``, the range's
  level (``(hi - lo).bit_length()``) and the ids as deltas from ``lo`` packed in the
  narrowest unsigned width that holds them. The counter moves past them as it does now.

Then a member's history in that layout: ``--publishes`` synthetic publishes of the figure's
size (about 111,000 ids of the list each, half entering and half leaving) are added, and the
changes of random members are read as a reader would: the blocks whose range holds the
member, found by one seek per level (a block of level L holding M starts after M - 2^L),
decoded, and searched.
"""

from __future__ import annotations

import argparse
import bisect
import json
import os
import random
import statistics
import time
from array import array
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from segmentd.storage import change_log
from segmentd.storage.db import Database

from . import history_cpu
from .databases import resolve
from .dataset import ensure_dataset
from .figures import Context

BLOCK = int(os.environ.get("BENCH_HISTORY_BLOCK", "1000"))
TABLE = "bench_change_blocks"
WIDTHS = (("B", 8), ("H", 16), ("I", 32), ("Q", 64))
LEVELS = 62


def width(level: int) -> str:
    """The array type code of offsets from ``lo`` in a block of that level."""
    return next(code for code, bits in WIDTHS if level <= bits)


def encode(ids: list[int]) -> tuple[int, int, bytes]:
    """(lo, hi, offsets): sorted ids as their first and last, and each one's offset from the
    first in the narrowest width that holds the range (searched without decoding)."""
    lo, hi = ids[0], ids[-1]
    return lo, hi, array(width((hi - lo).bit_length()), [i - lo for i in ids]).tobytes()


def position(lo: int, level: int, data: bytes, member_id: int) -> int | None:
    """Where ``member_id`` is in the block (None: not in it), by bisection of the offsets."""
    offsets = memoryview(data).cast(width(level))
    k = bisect.bisect_left(offsets, member_id - lo)
    return k if k < len(offsets) and offsets[k] == member_id - lo else None


def blocks_of(values: list[int]) -> Iterator[tuple[int, list[int]]]:
    """(change, sorted ids) of at most ``BLOCK`` ids, entering first."""
    for change in (change_log.ENTERED, change_log.LEFT):
        ids = sorted(v >> 1 for v in values if v & 1 == change)
        for k in range(0, len(ids), BLOCK):
            yield change, ids[k : k + BLOCK]


def block_rows(
    tenant_id: int, last: int, number: int, cause: int, at: int, values: list[int]
) -> tuple[list[dict[str, Any]], int]:
    rows = []
    for change, ids in blocks_of(values):
        lo, hi, data = encode(ids)
        last += len(ids)
        rows.append(
            {
                "tenant_id": tenant_id, "last_seq": last, "segment_number": number,
                "change": change, "cause": cause, "at": at, "count": len(ids), "lo": lo,
                "hi": hi, "level": (hi - lo).bit_length(), "ids": data,
            }
        )  # fmt: skip
    return rows, last


_INSERT = sa.text(
    f"INSERT INTO {TABLE} (tenant_id, last_seq, segment_number, change, cause, at, count, lo,"
    " hi, level, ids) VALUES (:tenant_id, :last_seq, :segment_number, :change, :cause, :at,"
    " :count, :lo, :hi, :level, :ids)"
)


def packed_difference(conn: Connection, staged: change_log.StagedQuery) -> list[int]:
    """The staged query's rows as member id * 2 + change, packed by the database into one
    value (PostgreSQL: with the history's planner settings)."""
    found = staged.query.subquery("moved")
    packed = found.c.member_id * 2 + found.c.change
    if conn.dialect.name == "sqlite":
        return list(
            json.loads(conn.execute(sa.select(sa.func.json_group_array(packed))).scalar_one())
        )
    settings = change_log._MERGED if staged.merged else change_log._NEW_ROWS
    for name, value in settings.items():
        conn.exec_driver_sql(f"SET LOCAL {name} = {value}")
    values = conn.execute(sa.select(sa.func.array_agg(packed))).scalar_one() or []
    for name in settings:
        conn.exec_driver_sql(f"SET LOCAL {name} TO DEFAULT")
    return list(values)


def insert_blocks(
    conn: Connection,
    tenant_id: int,
    last: int,
    number: int,
    at: int,
    staged: change_log.StagedQuery,
) -> int:
    """``change_log._insert_query``'s stand-in: the difference stored as blocks; the last seq."""
    values = packed_difference(conn, staged)
    cause = change_log.CAUSE_CODES[staged.cause]
    rows, top = block_rows(tenant_id, last, number, cause, at, values)
    if rows:
        conn.execute(_INSERT, rows)
    return top


@contextmanager
def recorded_as_blocks() -> Iterator[None]:
    real = change_log._insert_query
    change_log._insert_query = insert_blocks  # type: ignore[assignment]
    try:
        yield
    finally:
        change_log._insert_query = real  # type: ignore[assignment]


def create_table(db: Database) -> None:
    data = "BLOB" if db.is_sqlite else "BYTEA"
    rowid = " WITHOUT ROWID" if db.is_sqlite else ""
    with db.write() as conn:
        conn.exec_driver_sql(f"DROP TABLE IF EXISTS {TABLE}")
        conn.exec_driver_sql(
            f"CREATE TABLE {TABLE} (tenant_id BIGINT NOT NULL, last_seq BIGINT NOT NULL,"
            " segment_number BIGINT NOT NULL, change SMALLINT NOT NULL, cause SMALLINT NOT NULL,"
            " at BIGINT NOT NULL, count INTEGER NOT NULL, lo BIGINT NOT NULL, hi BIGINT NOT"
            f" NULL, level SMALLINT NOT NULL, ids {data} NOT NULL, PRIMARY KEY (tenant_id,"
            f" last_seq)){rowid}"
        )
        conn.exec_driver_sql(
            f"CREATE INDEX {TABLE}_segment ON {TABLE} (tenant_id, segment_number, last_seq)"
        )
        conn.exec_driver_sql(f"CREATE INDEX {TABLE}_member ON {TABLE} (tenant_id, level, lo, hi)")


def drop_table(db: Database) -> None:
    with db.write() as conn:
        conn.exec_driver_sql(f"DROP TABLE IF EXISTS {TABLE}")


def figure_passes(ctx: Context, passes: int) -> dict[str, list[dict[str, float]]]:
    """Per pass and way: the medians of one round's recorded and unrecorded rebuilds."""
    found: dict[str, list[dict[str, float]]] = {"rows": [], "blocks": []}
    for done in range(passes):
        ways = ["rows", "blocks"] if done % 2 == 0 else ["blocks", "rows"]
        for way in ways:
            print(f"pass {done + 1}, {way}:", flush=True)
            if way == "blocks":
                with recorded_as_blocks():
                    timings = history_cpu.rounds(ctx, 1)
            else:
                timings = history_cpu.rounds(ctx, 1)
            summary: dict[str, float] = {}
            for kind in ("wall", "cpu"):
                on, off = (
                    statistics.median(t[kind] for t in timings if t["recorded"] is rec)
                    for rec in (True, False)
                )
                summary[kind + "_on"], summary[kind + "_off"] = on, off
            summary["load"] = max(t["load"] for t in timings)
            found[way].append(summary)
    return found


def add_history(ctx: Context, publishes: int) -> int:
    """``publishes`` synthetic publishes of the figure's size into the blocks; changes added."""
    with ctx.db.read() as conn:
        ids = [
            int(i)
            for i in conn.exec_driver_sql(
                f"SELECT id FROM members WHERE tenant_id = {ctx.dataset.tenant_id} ORDER BY id"
            ).scalars()
        ]
    rng = random.Random(7)
    last, added = 10**12, 0  # far past the rounds' seqs
    for publish in range(publishes):
        moved = rng.sample(ids, 111_467)
        values = [m * 2 + (k & 1) for k, m in enumerate(moved)]
        rows, last = block_rows(
            ctx.dataset.tenant_id, last, 800_000 + publish % 20, 2, publish, values
        )
        with ctx.db.write() as conn:
            conn.execute(_INSERT, rows)
        added += len(values)
    return added


def member_history(conn: Connection, tenant_id: int, member_id: int) -> list[tuple[int, int, int]]:
    """(seq, segment number, change) of the member, in seq order, read from the blocks: one
    statement seeking each level's window of the member index."""
    if conn.dialect.name == "sqlite":
        levels = f"json_each(:levels) AS l CROSS JOIN {TABLE} AS b INDEXED BY {TABLE}_member"
    else:
        levels = f"unnest(CAST(:levels AS INTEGER[])) AS l(value) JOIN {TABLE} AS b"
    window = sa.text(
        "SELECT b.last_seq, b.count, b.segment_number, b.change, b.lo, b.level, b.ids"
        f" FROM {levels}"
        " ON b.tenant_id = :t AND b.level = l.value AND b.lo BETWEEN"
        " :m - (CAST(1 AS BIGINT) << l.value) + 1 AND :m AND b.hi >= :m"
    )
    params: dict[str, Any] = {"t": tenant_id, "m": member_id}
    params["levels"] = (
        json.dumps(list(range(LEVELS))) if conn.dialect.name == "sqlite" else list(range(LEVELS))
    )
    found = []
    for last, count, number, change, lo, level, data in conn.execute(window, params):
        k = position(lo, level, data, member_id)
        if k is not None:
            found.append((last - count + 1 + k, number, change))
    return sorted(found)


def member_reads(ctx: Context, samples: int) -> tuple[list[float], list[int]]:
    with ctx.db.read() as conn:
        top = int(conn.exec_driver_sql("SELECT max(id) FROM members").scalar_one())
    rng = random.Random(11)
    times, counts = [], []
    for _ in range(samples):
        member = rng.randint(1, top)
        with ctx.db.read() as conn:
            started = time.perf_counter()
            changes = member_history(conn, ctx.dataset.tenant_id, member)
            times.append(time.perf_counter() - started)
        counts.append(len(changes))
    return times, counts


def main(argv: list[str] | None = None) -> None:
    from .__main__ import DEFAULT_CHUNK
    from .runner import server_settings

    parser = argparse.ArgumentParser(prog="python -m bench.history_blocks")
    parser.add_argument("--database", required=True, help="URL of a copy of the data set")
    parser.add_argument("--members", type=int, default=1_000_000)
    parser.add_argument("--passes", type=int, default=3)
    parser.add_argument("--publishes", type=int, default=180)
    parser.add_argument("--samples", type=int, default=200)
    args = parser.parse_args(argv)
    url = resolve(args.database, args.members)
    db = Database(url)
    ctx = Context(db, ensure_dataset(db, args.members, 42), server_settings(url, DEFAULT_CHUNK))
    create_table(db)
    try:
        if args.passes:
            found = figure_passes(ctx, args.passes)
            for way, passes in found.items():
                for p in passes:
                    print(
                        f"{way:6} load {p['load']:4.1f}  wall {p['wall_on']:.3f} / "
                        f"{p['wall_off']:.3f} s ({100 * (p['wall_on'] / p['wall_off'] - 1):5.1f} %)"
                        f"  CPU {p['cpu_on']:.3f} / {p['cpu_off']:.3f} s "
                        f"({100 * (p['cpu_on'] / p['cpu_off'] - 1):5.1f} %)",
                        flush=True,
                    )
        if args.publishes:
            started = time.perf_counter()
            added = add_history(ctx, args.publishes)
            print(f"history: {added} changes in blocks ({time.perf_counter() - started:.0f} s)")
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
        drop_table(db)
        db.dispose()


if __name__ == "__main__":
    main()
