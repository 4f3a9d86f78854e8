"""Every figure of the benchmark: what it measures, in which unit, and against which target.

A figure's ``measure`` runs inside a fresh process (see ``bench.runner``) so that its peak
RSS is its own. Builds run through the worker's own code (``jobs.build_worker.run_pending``); the
HTTP figures go through the real application (in process, over ASGI), so routing,
validation and serialisation are counted.
"""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import sqlalchemy as sa
from fastapi.testclient import TestClient

from segmentd import clock
from segmentd.api.app import create_app
from segmentd.api.server_timing import app_milliseconds
from segmentd.domain.native_form import parse_native
from segmentd.domain.stored_form import dump_condition, today_in
from segmentd.domain.validation import SegmentType, parse_condition
from segmentd.jobs.build_worker import run_pending
from segmentd.jobs.refresh_runner import refresh_pending
from segmentd.services.native_segments import count_native_in
from segmentd.services.segment_service import insert_segment, redefine_segment
from segmentd.settings import Settings
from segmentd.storage.catalog import load_catalog
from segmentd.storage.db import Database
from segmentd.storage.member_columns import field_column
from segmentd.storage.schema import members, segments
from segmentd.storage.segments import delete_segment

from . import conditions as c
from .databases import tidy_postgres
from .dataset import NOW, Dataset

SEGMENTS = "/v1/marketing/lists/segments"
REQUESTS_PER_RUN = 5  # an HTTP figure's run is the mean of this many requests


@dataclass
class Context:
    """What a figure works with: the database, the data set and the settings of a server."""

    db: Database
    dataset: Dataset
    settings: Settings
    options: dict[str, Any] = field(default_factory=dict)
    notes: dict[str, Any] = field(default_factory=dict)  # what a figure reports beside its values
    _client: TestClient | None = None

    @property
    def client(self) -> TestClient:
        if self._client is None:
            # As `segmentd serve` runs it (gc.freeze after start-up).
            app = create_app(self.settings, start_worker=False, freeze_gc=True)
            self._client = TestClient(app).__enter__()
            self._client.auth = (self.dataset.api_user, self.dataset.api_key)
        return self._client

    def close(self) -> None:
        if self._client is not None:
            self._client.__exit__(None, None, None)


@dataclass(frozen=True)
class Figure:
    name: str
    unit: str  # "s", "ms", "rows/s", "req/s"
    measure: Callable[[Context, int], list[float]]
    target: str = ""
    limit: float | None = None  # the target as a number in ``unit`` (lower is better)
    at_least: float | None = None  # or a floor, for rates (higher is better)


# --- builds ----------------------------------------------------------------------------------


def wire(ctx: Context, segment_type: int, raw: dict[str, Any]) -> dict[str, Any]:
    """The condition validated and in its stored form, as the API stores it."""
    with ctx.db.read() as conn:
        catalog = load_catalog(conn, ctx.dataset.tenant_id)
    return dump_condition(parse_condition(raw, catalog, SegmentType(segment_type), ctx.settings.tz))


def new_segment(ctx: Context, name: str, segment_type: int, condition: dict[str, Any]) -> str:
    with ctx.db.write() as conn:
        return insert_segment(
            conn,
            ctx.dataset.tenant_id,
            list_id=ctx.dataset.list_id,
            name=name,
            segment_type=segment_type,
            condition=condition,
        )


def drop_segment(ctx: Context, segment_id: str) -> None:
    with ctx.db.write() as conn:
        delete_segment(conn, ctx.dataset.tenant_id, segment_id)


def built(ctx: Context, segment_id: str) -> tuple[int, int]:
    """(status, member_total) of a segment."""
    with ctx.db.read() as conn:
        row = conn.execute(
            sa.select(segments.c.status, segments.c.member_total).where(segments.c.id == segment_id)
        ).one()
    return int(row.status), int(row.member_total)


def native_wire(ctx: Context, raw: dict[str, Any]) -> dict[str, Any]:
    """A native condition validated and in its stored form."""
    with ctx.db.read() as conn:
        catalog = load_catalog(conn, ctx.dataset.tenant_id)
    return dump_condition(parse_native(raw, catalog, ctx.settings.tz))


def timed_build(ctx: Context, segment_type: int, raw: dict[str, Any]) -> float:
    return timed_stored_build(ctx, segment_type, wire(ctx, segment_type, raw))


def timed_stored_build(ctx: Context, segment_type: int, condition: dict[str, Any]) -> float:
    """Seconds from saving a new segment to its membership being published."""
    started = time.perf_counter()
    segment_id = new_segment(ctx, "bench build", segment_type, condition)
    run_pending(ctx.db, ctx.settings)
    elapsed = time.perf_counter() - started
    status, _total = built(ctx, segment_id)
    drop_segment(ctx, segment_id)
    assert status == 2, f"the build did not complete (status {status})"
    return elapsed


def build_figure(
    segment_type: int, raw: Callable[[Context], dict[str, Any]]
) -> Callable[[Context, int], list[float]]:
    def measure(ctx: Context, runs: int) -> list[float]:
        return [timed_build(ctx, segment_type, raw(ctx)) for _ in range(runs)]

    return measure


def native_build_figure(
    raw: Callable[[Context], dict[str, Any]],
) -> Callable[[Context, int], list[float]]:
    def measure(ctx: Context, runs: int) -> list[float]:
        return [timed_stored_build(ctx, c.FIELD, native_wire(ctx, raw(ctx))) for _ in range(runs)]

    return measure


def rebuild(ctx: Context, runs: int) -> list[float]:
    """Saving the same condition again: the new generation replaces a complete one."""
    return timed_rebuilds(ctx, [wire(ctx, c.FIELD, c.field_condition(c.THREE))], runs)


def timed_rebuilds(ctx: Context, conditions: list[dict[str, Any]], runs: int) -> list[float]:
    """Seconds of each rebuild of a segment built once: its condition saved again, in turn
    each of ``conditions`` (the same one again: nothing moves but what changed since; two
    that differ: the members between them move each time), until published."""
    segment_id = new_segment(ctx, "bench rebuild", c.FIELD, conditions[0])
    run_pending(ctx.db, ctx.settings)
    times = []
    for run in range(1, runs + 1):
        started = time.perf_counter()
        with ctx.db.write() as conn:
            redefine_segment(
                conn,
                ctx.dataset.tenant_id,
                segment_id,
                name=None,
                segment_type=c.FIELD,
                condition=conditions[run % len(conditions)],
            )
        run_pending(ctx.db, ctx.settings)
        times.append(time.perf_counter() - started)
        status, _total = built(ctx, segment_id)
        assert status == 2, f"the rebuild did not complete (status {status})"
    drop_segment(ctx, segment_id)
    return times


def build_many(count: int) -> Callable[[Context, int], list[float]]:
    """``count`` segments saved at once: seconds until the last one is published."""

    def measure(ctx: Context, runs: int) -> list[float]:
        conditions = [wire(ctx, c.FIELD, raw) for raw in c.realtime_conditions(count)]
        times = []
        for _ in range(runs):
            started = time.perf_counter()
            ids = [
                new_segment(ctx, f"bench many {k}", c.FIELD, cond)
                for k, cond in enumerate(conditions)
            ]
            run_pending(ctx.db, ctx.settings)
            times.append(time.perf_counter() - started)
            for segment_id in ids:
                drop_segment(ctx, segment_id)
        return times

    return measure


def day_boundary_refresh(count: int) -> Callable[[Context, int], list[float]]:
    """Seconds from a day boundary until ``count`` time-dependent segments count from the new
    day: queuing and running the refresh (``jobs.refresh_runner.refresh_pending``, one pass
    over the list for all of them).

    The segments are built on the data set's day (that of ``dataset.NOW`` in the tenant's
    zone: ``segmentd.clock`` is set to it, so that the windows fall where the data is); each
    run moves the clock past one more day boundary. They are deleted afterwards: the
    real-time figures count the tenant's segments.
    """

    def measure(ctx: Context, runs: int) -> list[float]:
        day = datetime.fromtimestamp(NOW, ctx.settings.tz)
        clock.set_source(day.timestamp)
        ids: list[str] = []
        try:
            with ctx.db.read() as conn:
                catalog = load_catalog(conn, ctx.dataset.tenant_id)
            for k, raw in enumerate(c.time_conditions(count)):
                parsed = parse_native(raw, catalog, ctx.settings.tz, today=day.date())
                ids.append(new_segment(ctx, f"bench time {k:02d}", c.FIELD, dump_condition(parsed)))
            run_pending(ctx.db, ctx.settings)
            return [refreshed(ctx, ids, day + timedelta(days=run + 1)) for run in range(runs)]
        finally:
            clock.set_source(None)
            for segment_id in ids:
                drop_segment(ctx, segment_id)

    return measure


def refreshed(ctx: Context, ids: list[str], moment: datetime) -> float:
    """Seconds to refresh the segments once the clock reads ``moment``."""
    clock.set_source(moment.timestamp)
    started = time.perf_counter()
    refresh_pending(ctx.db, ctx.settings)
    elapsed = time.perf_counter() - started
    with ctx.db.read() as conn:
        days = conn.execute(sa.select(segments.c.exact_day).where(segments.c.id.in_(ids)))
        assert set(days.scalars()) == {moment.date()}, "a segment was not refreshed"
    return elapsed


# --- reading through the API -----------------------------------------------------------------


def named_segment(ctx: Context, name: str, raw: dict[str, Any]) -> str:
    """A published field segment kept in the data set between runs (built once)."""
    with ctx.db.read() as conn:
        found = conn.execute(
            sa.select(segments.c.id).where(
                segments.c.tenant_id == ctx.dataset.tenant_id,
                segments.c.name == name,
                segments.c.status == 2,
            )
        ).scalar()
    if found is not None:
        return str(found)
    segment_id = new_segment(ctx, name, c.FIELD, wire(ctx, c.FIELD, raw))
    run_pending(ctx.db, ctx.settings)
    return segment_id


def timed_requests(send: Callable[[], Any], runs: int) -> list[float]:
    """Milliseconds per request: one warm-up, then ``runs`` means of a few requests."""
    send()
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        for _ in range(REQUESTS_PER_RUN):
            send()
        times.append((time.perf_counter() - started) * 1000 / REQUESTS_PER_RUN)
    return times


def ok(response: Any) -> Any:
    assert response.status_code == 200, (response.status_code, response.text[:300])
    return response.json()


PAGED = ("bench pages", c.field_condition(c.ONE))  # about half of the members: plain rows
# 98 % of the members: stored as its complement (``storage.membership``)
NEAR_ALL = ("bench pages near-all", c.field_condition(c.THREE, "or"))


def members_page(
    where: str, condition: dict[str, Any] | None = None, segment: tuple[str, Any] = PAGED
) -> Callable[[Context, int], list[float]]:
    """Milliseconds per page of 10 at the ``first``, ``middle`` or ``last`` offset."""

    def measure(ctx: Context, runs: int) -> list[float]:
        segment_id = named_segment(ctx, *segment)
        body = {"condition": condition} if condition else None
        total = ok(
            ctx.client.post(f"{SEGMENTS}/{segment_id}/members", json=body, params={"limit": 1})
        )["total"]
        offset = {"first": 0, "middle": total // 2, "last": max(0, total - 10)}[where]

        def send() -> None:
            page = ok(
                ctx.client.post(
                    f"{SEGMENTS}/{segment_id}/members",
                    json=body,
                    params={"offset": offset, "limit": 10},
                )
            )
            assert len(page["result"]) == min(10, total - offset)

        return timed_requests(send, runs)

    return measure


def preview(ctx: Context, runs: int) -> list[float]:
    body = {"type": c.FIELD, "condition": c.field_condition(c.THREE)}
    return timed_requests(lambda: ok(ctx.client.post("/v1/segments/preview", json=body)), runs)


def native_preview(
    raw: Callable[[Context], dict[str, Any]],
) -> Callable[[Context, int], list[float]]:
    """Milliseconds to count what a native condition selects in the list, as the UI's live
    count does (``services.native_segments.count_native_in``: validate, compile with the
    membership's reader of referenced segments, count in a read transaction); the HTTP
    layer is left out."""

    def measure(ctx: Context, runs: int) -> list[float]:
        condition = raw(ctx)

        def send() -> None:
            with ctx.db.read() as conn:
                count_native_in(
                    conn, ctx.dataset.tenant_id, ctx.dataset.list_id, condition, ctx.settings.tz
                )

        return timed_requests(send, runs)

    return measure


def days_to_data(ctx: Context, days: int) -> int:
    """A window of ``days`` days before the data set's clock, in days before today: the
    activity was generated once, at a fixed clock, and today moves on."""
    return days + (today_in(ctx.settings.tz) - datetime.fromtimestamp(NOW, UTC).date()).days


def opened_three_of_30_days(ctx: Context) -> dict[str, Any]:
    """Opened at least 3 campaigns in the last 30 days (of the data set's activity)."""
    return c.opened_at_least(3, days_to_data(ctx, 30))


def tree_of_15(ctx: Context) -> dict[str, Any]:
    """A three-level tree of 15 leaves (its engagement leaves over the data set's days)."""
    return c.tree_of_15(days_to_data(ctx, 90))


def referring_to_two(ctx: Context) -> dict[str, Any]:
    """In the near-all segment of the members pages (98 % of the members, stored as its
    complement) and not in the other one (about half of them, plain rows): both kept in the
    data set. About 480,000 members."""
    return c.in_one_not_other(named_segment(ctx, *NEAR_ALL), named_segment(ctx, *PAGED))


def new_ages(ctx: Context, people: list[int]) -> dict[str, str]:
    """An Age for each member that differs from the one stored (read before the clock
    starts): an upsert that changes nothing would leave every segment alone."""
    emails = [f"m{i}@d{i % 500}.example" for i in people]
    with ctx.db.read() as conn:
        age = field_column(load_catalog(conn, ctx.dataset.tenant_id).fields["age"])
        stored = dict(
            conn.execute(
                sa.select(members.c.email_key, age).where(
                    members.c.tenant_id == ctx.dataset.tenant_id,
                    members.c.list_id == ctx.dataset.list_id,
                    members.c.email_key.in_(emails),
                )
            ).all()
        )
    return {email: str((int(stored.get(email) or 0) + 1) % 90) for email in emails}


REALTIME, MIXED = "bench realtime", "bench mixed"  # the real-time figures' kept segments


def field_set(ctx: Context, count: int) -> list[dict[str, Any]]:
    return [wire(ctx, c.FIELD, raw) for raw in c.realtime_conditions(count)]


def mixed_set(ctx: Context, count: int) -> list[dict[str, Any]]:
    refs = [named_segment(ctx, *PAGED), named_segment(ctx, *NEAR_ALL)]
    raws = c.mixed_conditions(count, days_to_data(ctx, 90), refs)
    return [native_wire(ctx, raw) for raw in raws]


SETS: dict[str, Callable[[Context, int], list[dict[str, Any]]]] = {
    REALTIME: field_set,
    MIXED: mixed_set,
}


def kept_set(ctx: Context, prefix: str, count: int) -> None:
    """Make the ``count`` segments of the set ``prefix`` the only ones of the real-time sets
    on the list: the other sets' are deleted, this one's built once (in one shared pass) and
    kept between runs."""
    with ctx.db.read() as conn:
        found = dict(
            conn.execute(
                sa.select(segments.c.name, segments.c.id).where(
                    segments.c.tenant_id == ctx.dataset.tenant_id,
                    sa.or_(*(segments.c.name.startswith(f"{name} ") for name in SETS)),
                )
            ).all()
        )
    wanted = [f"{prefix} {k:02d}" for k in range(count)]
    for name, segment_id in sorted(found.items()):
        if name not in wanted:
            drop_segment(ctx, segment_id)
    missing = [k for k, name in enumerate(wanted) if name not in found]
    if missing:
        conditions = SETS[prefix](ctx, count)
        for k in missing:
            new_segment(ctx, wanted[k], c.FIELD, conditions[k])
        run_pending(ctx.db, ctx.settings)
    tidy_postgres(ctx.db)  # as autovacuum would after those builds


def realtime_upsert(
    segment_count: int, batch: int, kind: str = REALTIME
) -> Callable[[Context, int], list[float]]:
    """Milliseconds to upsert ``batch`` existing members while ``segment_count`` segments follow."""

    def measure(ctx: Context, runs: int) -> list[float]:
        kept_set(ctx, kind, segment_count)
        calls = iter(range(10_000))

        def body() -> dict[str, Any]:
            start = next(calls) * batch % max(1, ctx.dataset.members - batch)
            ages = new_ages(ctx, list(range(start, start + batch)))
            people = [{"email": email, "fields": {"Age": age}} for email, age in ages.items()]
            return {"update_existing": True, "members": people}

        def send(sent: dict[str, Any]) -> None:
            result = ok(ctx.client.post("/v1/marketing/lists/members", json=sent))["result"]
            assert result["updated"] == batch, result

        times = []
        send(body())
        for _ in range(runs):
            sent = body()
            started = time.perf_counter()
            send(sent)
            times.append((time.perf_counter() - started) * 1000)
        return times

    return measure


def single_upsert_p99(
    segment_count: int, default_requests: int, kind: str = REALTIME
) -> Callable[[Context, int], list[float]]:
    """p99 milliseconds of upserting one existing member while ``segment_count`` segments follow
    (each run: ``default_requests`` upserts of different members, or as many as the
    ``p99_requests`` option says, the 99th percentile of them), as the server's
    ``Server-Timing`` header reports them."""

    def measure(ctx: Context, runs: int) -> list[float]:
        kept_set(ctx, kind, segment_count)
        requests = int(ctx.options.get("p99_requests", default_requests))
        step = max(1, ctx.dataset.members // (requests * (runs + 1)))
        people = iter(range(0, ctx.dataset.members, step))

        def send() -> float:
            ((email, age),) = new_ages(ctx, [next(people)]).items()
            body = {"update_existing": True, "members": [{"email": email, "fields": {"Age": age}}]}
            response = ctx.client.post("/v1/marketing/lists/members", json=body)
            assert ok(response)["result"]["updated"] == 1, response.text
            # Server side, as the target says: the test client's own share is left out.
            return app_milliseconds(response.headers["server-timing"])

        for _ in range(20):  # warm-up: connections, caches, compiled statements
            send()
        return [
            statistics.quantiles([send() for _ in range(requests)], n=100)[98] for _ in range(runs)
        ]

    return measure


# --- the other engineers' benchmarks ---------------------------------------------------------


def csv_import(ctx: Context, runs: int) -> list[float]:
    """Rows per second of ``segmentd import members`` into a fresh database of the same kind."""
    from segmentd.imports.runner import DEFAULT_CHUNK_ROWS

    from . import import_members

    rows = int(ctx.options.get("import_rows", 1_000_000))
    path = import_members.write_csv(import_members.DATA / f"members-{rows}.csv", rows)
    backend = "sqlite" if ctx.db.is_sqlite else "postgres"
    return [
        import_members.run(backend, path, rows, DEFAULT_CHUNK_ROWS).rows_per_second
        for _ in range(runs)
    ]


def lookup(ctx: Context, runs: int) -> list[float]:
    """Look-ups per second by cookie (wrk) against ``segmentd serve``."""
    import argparse
    import shutil
    import tempfile
    from pathlib import Path

    from . import lookup as lookup_bench

    if not shutil.which("wrk"):
        raise RuntimeError("wrk is missing (apt-get install -y wrk)")
    option = ctx.options.get
    args = argparse.Namespace(
        database=ctx.db.url, visitors=int(option("visitors", 100_000)),
        duration=int(option("wrk_seconds", 5)), connections=int(option("connections", 64)),
        port=int(option("port", 8765)),
    )  # fmt: skip
    rates = []
    for _ in range(runs):
        with tempfile.TemporaryDirectory(prefix="segmentd-bench-") as tmp:
            result = lookup_bench.benchmark(args, Path(tmp))
        runs_done: list[dict[str, Any]] = result["runs"]  # type: ignore[assignment]
        cookie = next(run for run in runs_done if run["name"] == "lookup (cookie)")
        rates.append(float(cookie["requests_per_second"]))
    return rates


def webhook_p99(ctx: Context, runs: int) -> list[float]:
    """Milliseconds from a real-time upsert to its change at a receiver (``webhook_latency``)."""
    from . import webhook_latency

    return webhook_latency.measure(ctx, runs)


def history_added(ctx: Context, runs: int) -> list[float]:
    """Percent recording the history adds to a rebuild that moves 100,000 (``history_cost``)."""
    from . import history_cost

    return history_cost.rebuild_added(ctx, runs)


def feed_read(ctx: Context, runs: int) -> list[float]:
    """Seconds to read 100,000 changes from the change feed (``history_cost``)."""
    from . import history_cost

    return history_cost.feed_seconds(ctx, runs)


# --- the list ---------------------------------------------------------------------------------


def _fields(
    items: list[dict[str, str]], relation: str = "and"
) -> Callable[[Context], dict[str, Any]]:
    return lambda _ctx: c.field_condition(items, relation)


TARGET_2S: dict[str, Any] = {"target": "< 2 s", "limit": 2.0}
TARGET_50MS: dict[str, Any] = {"target": "< 50 ms", "limit": 50.0}
OPEN_NOT_CLICKED = build_figure(
    c.CAMPAIGN, lambda ctx: c.opened_not_clicked(ctx.dataset.first_campaign)
)
BLUE = c.field_condition([c.item("Color", "==", "blue")])

FIGURES: tuple[Figure, ...] = (
    Figure("build: 1 field condition", "s", build_figure(c.FIELD, _fields(c.ONE))),
    Figure(
        "build: 3 field conditions (and)", "s", build_figure(c.FIELD, _fields(c.THREE)), **TARGET_2S
    ),
    Figure(
        "build: 3 field conditions (or)",
        "s",
        build_figure(c.FIELD, _fields(c.THREE, "or")),
        **TARGET_2S,
    ),
    Figure("build: 10 conditions (and)", "s", build_figure(c.FIELD, _fields(c.TEN))),
    Figure("build: 10 conditions (or)", "s", build_figure(c.FIELD, _fields(c.TEN, "or"))),
    Figure("build: campaign open and not clicked", "s", OPEN_NOT_CLICKED, **TARGET_2S),
    Figure(
        "build: opened >= 3 campaigns in 30 days",
        "s",
        native_build_figure(opened_three_of_30_days),
        **TARGET_2S,
    ),
    Figure(
        "build: three-level tree of 15 leaves", "s", native_build_figure(tree_of_15), **TARGET_2S
    ),
    Figure(
        "build: segment referring to two others",
        "s",
        native_build_figure(referring_to_two),
        target="< 1 s",
        limit=1.0,
    ),
    Figure("rebuild: 3 field conditions (and)", "s", rebuild),
    Figure("build: 10 segments saved at once", "s", build_many(10)),
    Figure("members page, offset 0", "ms", members_page("first"), **TARGET_50MS),
    Figure("members page, middle offset", "ms", members_page("middle"), **TARGET_50MS),
    Figure("members page, last page", "ms", members_page("last"), **TARGET_50MS),
    Figure("members page + extra condition", "ms", members_page("first", condition=BLUE)),
    Figure(
        "members page of a near-all segment, last page",
        "ms",
        members_page("last", segment=NEAR_ALL),
        **TARGET_50MS,
    ),
    Figure(
        "members page of a near-all segment + extra condition",
        "ms",
        members_page("first", condition=BLUE, segment=NEAR_ALL),
    ),
    Figure("count preview: 3 conditions", "ms", preview, target="< 1 s", limit=1000.0),
    Figure(
        "count preview: opened >= 3 campaigns in 30 days",
        "ms",
        native_preview(opened_three_of_30_days),
        target="< 1 s",
        limit=1000.0,
    ),
    Figure(
        "count preview: three-level tree of 15 leaves",
        "ms",
        native_preview(tree_of_15),
        target="< 1 s",
        limit=1000.0,
    ),
    Figure(
        "count preview: segment referring to two others",
        "ms",
        native_preview(referring_to_two),
        target="< 1 s",
        limit=1000.0,
    ),
    Figure("real-time upsert: 1000 members, 50 segments", "ms", realtime_upsert(50, 1000)),
    Figure(
        "real-time upsert: 1 member, 50 segments, p99 server side",
        "ms",
        single_upsert_p99(50, 300),
        target="< 10 ms",
        limit=10.0,
    ),
    Figure(
        "real-time upsert: 1 member, 50 segments of mixed kinds, p99 server side",
        "ms",
        single_upsert_p99(50, 300, MIXED),
        target="< 10 ms",
        limit=10.0,
    ),
    Figure(
        "day-boundary refresh: 50 time-dependent segments",
        "s",
        day_boundary_refresh(50),
        target="< 60 s",
        limit=60.0,
    ),
    Figure(
        "history: rebuild moving 100,000, time added by recording",
        "%",
        history_added,
        target="<= 20 %",
        limit=20.0,
    ),
    Figure("change feed: 100,000 changes read", "s", feed_read, target="< 1 s", limit=1.0),
    Figure(
        "webhook: real-time change to receiver, p99",
        "ms",
        webhook_p99,
        target="< 1000 ms",
        limit=1000.0,
    ),
    Figure("visitor look-up by cookie (wrk)", "req/s", lookup),
    Figure("CSV import", "rows/s", csv_import, target=">= 25,000 rows/s", at_least=25_000),
)

BY_NAME = {figure.name: figure for figure in FIGURES}


def summary(values: list[float]) -> dict[str, float]:
    return {"median": statistics.median(values), "min": min(values), "max": max(values)}
