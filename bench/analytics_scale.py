"""``python -m bench.analytics_scale``: the chdb copy of ``bench.analytics_sync`` (its
``--folder``) made ten times larger, then the bench conditions timed on it, for
docs/scaling.md.

    python -m bench.analytics_sync --members 100000     # first: the copy to grow
    python -m bench.analytics_scale [--folder PATH] [--times 10]

Copies the tenant's live member, tag and activity rows ``--times - 1`` more times with the
member ids shifted (so ten times the members, each with the same tags and activity), merges
each table to one part, then prints for each condition of ``bench.analytics_scan`` the
median of 5 of: the ids returned, ``count()``, ``count()`` without ``FINAL``; then two
membership copies (half and a third of the members) and a condition on both references;
and the bytes per row of every table.
"""

from __future__ import annotations

import argparse
import statistics
import time
from pathlib import Path
from typing import Any

from segmentd.analytics.clickhouse_compiler import members_query
from segmentd.analytics.clickhouse_schema import VERSIONED, columns
from segmentd.analytics.engine import Engine, open_engine
from segmentd.analytics.read_point import read_point
from segmentd.database_urls import parse_analytics_url
from segmentd.storage.db import Database

from .__main__ import DEFAULT_CHUNK
from .analytics_scan import DATABASE, conditions
from .databases import resolve
from .dataset import ensure_dataset
from .figures import Context
from .runner import server_settings

_SHIFT = 10_000_000  # member ids of the copies: above every id of the data set


def timed(engine: Engine, sql: str, params: dict[str, Any] | None = None) -> tuple[float, Any]:
    times, found = [], None
    for _ in range(5):
        started = time.perf_counter()
        found = engine.rows(sql, params)
        times.append(time.perf_counter() - started)
    return statistics.median(times) * 1000, found


def grow(engine: Engine, tenant_id: int, floor: int, times: int) -> None:
    for table in VERSIONED:
        names = columns(table)
        shifted = ", ".join(f"member_id + k * {_SHIFT}" if n == "member_id" else n for n in names)
        engine.execute(
            f"INSERT INTO {DATABASE}.{table} ({', '.join(names)}) SELECT {shifted} "
            f"FROM {DATABASE}.{table} FINAL ARRAY JOIN range(1, {times}) AS k "
            f"WHERE tenant_id = {tenant_id} AND version >= {floor} AND deleted = 0"
        )
        engine.execute(f"OPTIMIZE TABLE {DATABASE}.{table} FINAL")


def references(engine: Engine, tenant_id: int, floor: int) -> float:
    live = f"tenant_id = {tenant_id} AND version >= {floor} AND deleted = 0"
    engine.execute(f"TRUNCATE TABLE {DATABASE}.segment_members")
    for segment, every in (("a", 2), ("b", 3)):
        engine.execute(
            f"INSERT INTO {DATABASE}.segment_members SELECT tenant_id, '{segment}', 1, member_id "
            f"FROM {DATABASE}.members FINAL WHERE {live} AND member_id % {every} = 0"
        )
    engine.execute(f"OPTIMIZE TABLE {DATABASE}.segment_members FINAL")

    def held(segment: str) -> str:
        return (
            f"members.member_id IN (SELECT member_id FROM {DATABASE}.segment_members "
            f"WHERE tenant_id = {tenant_id} AND segment_id = '{segment}' AND copy_id = 1)"
        )

    ms, _ = timed(
        engine,
        f"SELECT count() FROM {DATABASE}.members AS members FINAL "
        f"WHERE {live} AND {held('a')} AND NOT {held('b')}",
    )
    return ms


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--members", type=int, default=100_000)
    parser.add_argument("--times", type=int, default=10)
    parser.add_argument("--folder", type=Path, default=None)
    args = parser.parse_args(argv)
    url = resolve("sqlite", args.members)
    db = Database(url)
    dataset = ensure_dataset(db, args.members, 42)
    ctx = Context(db, dataset, server_settings(url, DEFAULT_CHUNK))
    folder = args.folder or Path(__file__).parent / "data" / f"chdb-sync-{args.members}"
    engine = open_engine(parse_analytics_url(f"chdb://{folder.resolve()}"))
    point = read_point(engine, DATABASE, dataset.tenant_id)
    grow(engine, dataset.tenant_id, point.floor, args.times)
    for name, condition in conditions(ctx).items():
        query = members_query(condition, dataset.tenant_id, DATABASE, point, dataset.list_id)
        ids, _ = timed(engine, query.sql, query.params)
        counted, found = timed(engine, f"SELECT count() FROM ({query.sql})", query.params)
        plain = query.sql.replace(" FINAL", "")
        unmerged, _ = timed(engine, f"SELECT count() FROM ({plain})", query.params)
        print(
            f"{name}: {found[0][0]:,} members; ids {ids:.0f} ms, count {counted:.0f} ms, "
            f"count without FINAL {unmerged:.0f} ms",
            flush=True,
        )
    ms = references(engine, dataset.tenant_id, point.floor)
    print(f"in one reference and not in another: {ms:.0f} ms", flush=True)
    for table, rows, size in engine.rows(
        "SELECT table, sum(rows), sum(data_compressed_bytes) FROM system.parts "
        "WHERE database = {d:String} AND active GROUP BY table ORDER BY table",
        {"d": DATABASE},
    ):
        per_row = int(size) / max(int(rows), 1)
        print(f"{table}: {int(rows):,} rows, {int(size):,} B, {per_row:.1f} B/row")
    engine.close()
    db.dispose()


if __name__ == "__main__":
    main()
