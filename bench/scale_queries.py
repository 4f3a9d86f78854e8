"""``python -m bench.scale_queries``: where a count on the scale copy spends its time, on a
copy ``python -m bench.cluster_scale --keep`` left (same arguments).

    python -m bench.scale_queries --members 10000000 --events 100000000 [--engine chdb]

For each segment shape of ``bench.cluster_scale``, the median of ``--runs`` of: the preview's
``count()`` over the compiler's query as builds and previews run it; the same without
``FINAL`` (what the versioned layout costs on a merged copy); the count of one build chunk
(``--chunk`` members, the range in the middle of the ids), which a build pays once per chunk.
"""

from __future__ import annotations

import json
import statistics
import sys
import time
from typing import Any

from segmentd.analytics.clickhouse_compiler import ClickHouseQuery, members_query
from segmentd.analytics.engine import Engine
from segmentd.analytics.read_point import read_point
from segmentd.domain.native_form import parse_native
from segmentd.domain.stored_form import load_condition
from segmentd.jobs.analytics_source import analytics_source
from segmentd.settings import Settings
from segmentd.storage.catalog import load_catalog
from segmentd.storage.db import Database
from segmentd.storage.segments import list_segments

from . import conditions as c
from .cluster_scale import open_copy, parser
from .figures import NEAR_ALL, PAGED, Context, opened_three_of_30_days, wire
from .runner import SECRET
from .scale_copy import DATABASE
from .scale_record import ensure_record


def median_ms(run: Any, runs: int) -> float:
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        run()
        times.append(time.perf_counter() - started)
    return round(statistics.median(times) * 1000)


def counts(
    engine: Engine, query: ClickHouseQuery, chunk: ClickHouseQuery, runs: int
) -> dict[str, float]:
    def count(sql: str, q: ClickHouseQuery) -> Any:
        return engine.rows(f"SELECT count() FROM ({sql})", q.params)

    plain = query.sql.replace(" FINAL", "")
    return {
        "count_ms": median_ms(lambda: count(query.sql, query), runs),
        "count_without_final_ms": median_ms(lambda: count(plain, query), runs),
        "one_chunk_ms": median_ms(lambda: count(chunk.sql, chunk), runs),
    }


def main(argv: list[str] | None = None) -> dict[str, Any]:
    args = parser().parse_args(argv)
    events = args.events if args.events is not None else 10 * args.members
    record = ensure_record(args.folder, args.members)
    folder = args.folder / f"{args.engine}-{args.members}-{events}"
    assert folder.exists(), f"no kept copy at {folder}: run bench.cluster_scale --keep first"
    url, _places, cluster = open_copy(args, folder)
    dataset = record.dataset
    settings = Settings(
        database_url=dataset.url, worker=False, secret_key=SECRET, analytics_url=url
    )
    source = analytics_source(settings.analytics)
    assert source is not None
    engine = source.target.engine
    db = Database(dataset.url)
    ctx = Context(db, dataset, settings)
    with db.read() as conn:
        catalog = load_catalog(conn, dataset.tenant_id)
        named = {s.name: s.id for s in list_segments(conn, dataset.tenant_id, limit=500)[0]}
    refs = {
        "all": [
            {"kind": "segment", "segment": named[NEAR_ALL[0]], "op": "in"},
            {"not": {"kind": "segment", "segment": named[PAGED[0]], "op": "in"}},
        ]
    }
    three = json.dumps(wire(ctx, c.FIELD, c.field_condition(c.THREE)))
    shapes = {
        "opened >= 3 campaigns in 30 days": parse_native(
            opened_three_of_30_days(ctx), catalog, settings.tz
        ),
        "3 field conditions (and)": load_condition(three, catalog, settings.tz),
        "segment referring to two others": parse_native(refs, catalog, settings.tz),
    }
    results: dict[str, Any] = {}
    try:
        point = read_point(engine, DATABASE, dataset.tenant_id)
        middle = args.members // 2
        for name, condition in shapes.items():
            query = members_query(condition, dataset.tenant_id, DATABASE, point, dataset.list_id)
            chunk = members_query(
                condition,
                dataset.tenant_id,
                DATABASE,
                point,
                dataset.list_id,
                (middle, middle + args.chunk),
            )
            results[name] = counts(engine, query, chunk, args.runs)
            print(f"{name}: {results[name]}", flush=True)
    finally:
        if cluster is not None:
            cluster.stop()
        db.dispose()
    return results


if __name__ == "__main__":
    main(sys.argv[1:])
