"""``python -m bench.analytics_scan``: the embedded ClickHouse (chdb) against the row store and
against an in-memory columnar scan of the same data.

    python -m bench.analytics_scan [--members 1000000] [--runs 5] [--folder PATH] [--reload]

Loads the SQLite data set of that size into chdb (``analytics.full_load``, timed: rows per
second), then, for each condition, times the member ids selected by ClickHouse's query
(``analytics.clickhouse_compiler``), the same count by the SQLite compiler, and, for the
three-condition segment, the same test as a NumPy scan of the three columns held in memory
(the floor any columnar engine starts from). Prints medians; every engine must find the same
number of members.
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import sqlalchemy as sa

from segmentd.analytics.engine import open_engine
from segmentd.analytics.full_load import LoadProgress, Target, current_load, load_tenant
from segmentd.analytics.read_point import read_point
from segmentd.database_urls import parse_analytics_url
from segmentd.domain.conditions import Group
from segmentd.domain.native_form import parse_native
from segmentd.domain.stored_form import load_condition
from segmentd.membership import store
from segmentd.storage.catalog import load_catalog
from segmentd.storage.compiler import compile_condition
from segmentd.storage.db import Database
from segmentd.storage.list_members import count_matching
from segmentd.storage.member_columns import field_column
from segmentd.storage.schema import members

from . import conditions as c
from .__main__ import DEFAULT_CHUNK
from .databases import resolve
from .dataset import Dataset, ensure_dataset
from .figures import Context, days_to_data, wire
from .runner import server_settings

DATABASE = "segmentd"


def conditions(ctx: Context) -> dict[str, Group]:
    with ctx.db.read() as conn:
        catalog = load_catalog(conn, ctx.dataset.tenant_id)
    tz = ctx.settings.tz
    three = wire(ctx, c.FIELD, c.field_condition(c.THREE))
    return {
        "3 field conditions (and)": load_condition(json.dumps(three), catalog, tz),
        "opened >= 3 campaigns in 30 days": parse_native(
            c.opened_at_least(3, days_to_data(ctx, 30)), catalog, tz
        ),
        "three-level tree of 15 leaves": parse_native(
            c.tree_of_15(days_to_data(ctx, 90)), catalog, tz
        ),
    }


def median_of(runs: int, action: Callable[[], Any]) -> tuple[float, Any]:
    times, result = [], None
    for _ in range(runs):
        started = time.perf_counter()
        result = action()
        times.append(time.perf_counter() - started)
    return statistics.median(times), result


def numpy_scan(ctx: Context, runs: int) -> tuple[float, int]:
    """The three conditions (Age >= 30, Color != red, Joined > 01/01/2000) over columns held
    in memory; a missing value fails ``>=`` and ``>``, passes ``!=``, as the evaluator says."""
    with ctx.db.read() as conn:
        catalog = load_catalog(conn, ctx.dataset.tenant_id)
        fields = catalog.fields
        columns = [field_column(fields[name]) for name in ("age", "color", "joined")]
        rows = conn.execute(
            sa.select(*columns).where(
                members.c.tenant_id == ctx.dataset.tenant_id,
                members.c.list_id == ctx.dataset.list_id,
            )
        ).all()
    age = np.array([r[0] if r[0] is not None else np.nan for r in rows], dtype=np.float64)
    color = np.array([(r[1] or "").lower() for r in rows])
    has_color = np.array([r[1] is not None for r in rows])
    joined = np.array([r[2] if r[2] is not None else np.nan for r in rows], dtype=np.float64)
    three = load_condition_bounds(ctx)

    def scan() -> int:
        mask = (age >= 30) & (~has_color | (color != "red")) & (joined > three)
        return int(np.count_nonzero(mask))

    return median_of(runs, scan)


def load_condition_bounds(ctx: Context) -> float:
    """The stored bound of "Joined > 01/01/2000" (the end of that day, as stored)."""
    stored = wire(ctx, c.FIELD, c.field_condition([c.item("Joined", ">", "01/01/2000")]))
    with ctx.db.read() as conn:
        catalog = load_catalog(conn, ctx.dataset.tenant_id)
    condition = load_condition(json.dumps(stored), catalog, ctx.settings.tz)
    (leaf,) = condition.items
    return float(leaf.operand)  # type: ignore[attr-defined]


def load(ctx: Context, folder: Path, reload: bool) -> tuple[Target, float | None]:
    target = Target(open_engine(parse_analytics_url(f"chdb://{folder}")), DATABASE)
    try:
        if current_load(target, ctx.dataset.tenant_id) and not reload:
            return target, None
    except Exception:  # no schema yet: the first load creates it
        pass
    last: dict[str, int] = {}

    def progress(p: LoadProgress) -> None:
        last[p.table] = p.rows

    started = time.perf_counter()
    load_tenant(ctx.db, target, store().member_ids, ctx.dataset.tenant_id, progress=progress)
    seconds = time.perf_counter() - started
    rows = sum(last.values())
    print(f"loaded {rows:,} rows in {seconds:.1f} s: {rows / seconds:,.0f} rows/s", flush=True)
    return target, rows / seconds


def main(argv: list[str] | None = None) -> dict[str, Any]:
    from segmentd.analytics.clickhouse_compiler import members_query

    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--members", type=int, default=1_000_000)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--folder", type=Path, default=None)
    parser.add_argument("--reload", action="store_true")
    args = parser.parse_args(argv)
    url = resolve("sqlite", args.members)
    db = Database(url)
    db.migrate()
    dataset: Dataset = ensure_dataset(db, args.members, 42)
    ctx = Context(db, dataset, server_settings(url, DEFAULT_CHUNK))
    folder = args.folder or Path(__file__).parent / "data" / f"chdb-{args.members}"
    target, rate = load(ctx, folder.resolve(), args.reload)
    point = read_point(target.engine, DATABASE, dataset.tenant_id)
    results: dict[str, Any] = {"load_rows_per_second": rate}
    for name, condition in conditions(ctx).items():
        query = members_query(condition, dataset.tenant_id, DATABASE, point, dataset.list_id)
        ch_s, ids = median_of(args.runs, lambda q=query: target.engine.rows(q.sql, q.params))

        def sqlite_count(cond: Group = condition) -> int:
            with db.read() as conn:
                where = compile_condition(cond, tenant_id=dataset.tenant_id)
                return count_matching(conn, dataset.tenant_id, dataset.list_id, where, None)

        sq_s, count = median_of(1, sqlite_count)
        assert len(ids) == count, (name, len(ids), count)
        results[name] = {"chdb_s": ch_s, "sqlite_count_s": sq_s, "members": count}
        print(f"{name}: chdb {ch_s * 1000:.1f} ms, SQLite count {sq_s * 1000:.1f} ms, "
              f"{count:,} members", flush=True)  # fmt: skip
    np_s, np_count = numpy_scan(ctx, args.runs)
    three = results["3 field conditions (and)"]
    assert np_count == three["members"], (np_count, three["members"])
    results["numpy_scan_s"] = np_s
    print(f"in-memory columnar scan (NumPy) of the 3 conditions: {np_s * 1000:.1f} ms; "
          f"chdb's query is {three['chdb_s'] / np_s:.1f} times it", flush=True)  # fmt: skip
    db.dispose()
    return results


if __name__ == "__main__":
    main()
