"""What the cookie look-up's visitor limit costs: the same server with the limit off and on.

Fills a fresh database with visitors (``bench.lookup.fill``), then serves it twice at once, with
``SEGMENTD_LOOKUP_VISITOR_LIMIT=0`` and with the default, and drives them in turn (short runs,
``--rounds`` pairs) with wrk by cookie, every visitor from an address of its own (as browsers;
``bench.lookup.lua_script``). Before measuring "on", it checks that the limit does refuse
one client walking through visitors. Prints a table and writes JSON to bench/results/.

    python -m bench.lookup_limit [--database URL] [--visitors N] [--duration S] [--rounds R]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import tempfile
import time
from contextlib import ExitStack
from dataclasses import asdict
from pathlib import Path

import httpx

from segmentd.settings import Settings
from segmentd.storage.db import Database

from .lookup import (
    DEFAULT_WORKERS,
    FIRST_TCID,
    RESULTS,
    Fixture,
    drop_tenant,
    fill,
    lua_script,
    parse_wrk,
    serve,
    wrk,
)

DEFAULT_LIMIT = Settings.model_fields["lookup_visitor_limit"].default


def check_limit(base: str, fixture: Fixture, limit: int, workers: int) -> int:
    """One client walking through visitors is refused once every server process saw
    ``limit`` of them (each process counts for itself; the count starts again each minute,
    so a walk across a minute's end goes further); returns the visitors it got."""
    path = f"{base}/api/dms/segmentation/segments"
    params = {"site": fixture.site_id, "callback": "cb"}
    for n in range(3 * workers * (limit + 1)):
        cookie = {"Cookie": f"TCID={FIRST_TCID + n}"}
        status = httpx.get(path, params=params, headers=cookie).status_code
        if status == 429:
            return n
        if status != 200:
            raise RuntimeError(f"look-up answered {status}")
    raise RuntimeError("the visitor limit does not hold")


def server_cpu_seconds(port: int) -> float:
    """CPU time so far of ``segmentd serve --port PORT`` and its worker processes (Linux)."""
    found = subprocess.run(
        ["pgrep", "-f", f"serve --port {port} "], capture_output=True, text=True, check=True
    )
    pending = [int(pid) for pid in found.stdout.split()]
    ticks = 0
    while pending:
        pid = pending.pop()
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
            ticks += int(fields[11]) + int(fields[12])  # utime, stime
            for task in Path(f"/proc/{pid}/task").iterdir():
                pending += [int(c) for c in (task / "children").read_text().split()]
        except FileNotFoundError:
            continue
    return ticks / os.sysconf("SC_CLK_TCK")


def measure(args: argparse.Namespace, workdir: Path) -> dict[str, object]:
    database_url = args.database or f"sqlite:///{workdir / 'bench.db'}"
    db = Database(database_url)
    db.migrate()
    fixture = fill(db, args.visitors)
    db.dispose()
    script = workdir / "cookie.lua"
    script.write_text(lua_script(fixture, by_cookie=True))
    runs: dict[str, list[dict[str, object]]] = {"off": [], "on": []}
    walked: list[int] = []
    load_before = os.getloadavg()
    limits = {"off": 0, "on": DEFAULT_LIMIT}
    ports = {"off": args.port, "on": args.port + 1}
    try:
        with ExitStack() as servers:
            bases = {}
            for name, limit in limits.items():
                (workdir / name).mkdir()
                settings = {"SEGMENTD_LOOKUP_VISITOR_LIMIT": str(limit)}
                bases[name] = servers.enter_context(
                    serve(database_url, ports[name], workdir / name, args.workers, settings)
                )
                wrk(bases[name], 2, args.connections, script)  # warm-up
            walked.append(check_limit(bases["on"], fixture, DEFAULT_LIMIT, args.workers))
            # Short runs, alternating, the order swapped every round: the machine's load
            # drifts over seconds, and each pair of runs shares its drift.
            for round_ in range(args.rounds):
                order = ("off", "on") if round_ % 2 == 0 else ("on", "off")
                for name in order:
                    cpu = server_cpu_seconds(ports[name])
                    output = wrk(bases[name], args.duration, args.connections, script)
                    cpu = server_cpu_seconds(ports[name]) - cpu
                    run = asdict(parse_wrk(f"cookie, limit {name}", output))
                    requests = run["requests_per_second"] * args.duration
                    run["server_cpu_us_per_request"] = round(cpu / requests * 1e6, 1)
                    runs[name].append(run)
    finally:
        db = Database(database_url)
        drop_tenant(db, fixture.tenant_id)
        db.dispose()
    return {
        "database": "sqlite" if database_url.startswith("sqlite") else "postgresql",
        "visitors": args.visitors,
        "duration_seconds": args.duration,
        "connections": args.connections,
        "workers": args.workers,
        "limit": DEFAULT_LIMIT,
        "load_average_before": [round(load, 2) for load in load_before],
        "load_average_after": [round(load, 2) for load in os.getloadavg()],
        "walker_refused_after": walked,
        "runs": runs,
    }


def report(result: dict[str, object]) -> None:
    runs = result["runs"]
    assert isinstance(runs, dict)
    print(
        f"{'round':<7}{'off req/s':>11}{'on req/s':>11}{'on/off':>8}"
        f"{'off p99':>9}{'on p99':>9}{'off CPU µs':>12}{'on CPU µs':>11}"
    )
    for n, (off, on) in enumerate(zip(runs["off"], runs["on"], strict=True), 1):
        ratio = on["requests_per_second"] / off["requests_per_second"] * 100
        print(
            f"{n:<7}{off['requests_per_second']:>11.0f}{on['requests_per_second']:>11.0f}"
            f"{ratio:>7.1f}%{off['p99_ms']:>9.1f}{on['p99_ms']:>9.1f}"
            f"{off['server_cpu_us_per_request']:>12.1f}{on['server_cpu_us_per_request']:>11.1f}"
        )
    means = {
        name: (
            statistics.mean(run["requests_per_second"] for run in runs[name]),
            statistics.mean(run["server_cpu_us_per_request"] for run in runs[name]),
        )
        for name in ("off", "on")
    }
    (off_rate, off_cpu), (on_rate, on_cpu) = means["off"], means["on"]
    ratios = [
        on["requests_per_second"] / off["requests_per_second"] * 100
        for off, on in zip(runs["off"], runs["on"], strict=True)
    ]
    errors = sum(run["errors"] for run in runs["off"] + runs["on"])
    print(
        f"mean   {off_rate:>11.0f}{on_rate:>11.0f}{on_rate / off_rate * 100:>7.1f}%"
        f"{'':>18}{off_cpu:>12.1f}{on_cpu:>11.1f}"
    )
    print(f"median of the rounds' on/off: {statistics.median(ratios):.1f}%")
    print(f"a walker was refused after {result['walker_refused_after']} visitors")
    print(f"errors {errors}; load average {result['load_average_before']} -> ", end="")
    print(result["load_average_after"])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database", help="database URL (default: a fresh SQLite file)")
    parser.add_argument("--visitors", type=int, default=10_000)
    parser.add_argument("--duration", type=int, default=3, help="seconds per wrk run")
    parser.add_argument("--rounds", type=int, default=20)
    parser.add_argument("--connections", type=int, default=64)
    parser.add_argument("--port", type=int, default=8766)
    parser.add_argument("--workers", type=int, default=DEFAULT_WORKERS)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="segmentd-bench-") as tmp:
        result = measure(args, Path(tmp))
    result["when"] = time.strftime("%Y-%m-%dT%H:%M:%S%z")
    report(result)
    RESULTS.mkdir(exist_ok=True)
    out = RESULTS / f"lookup-limit-{time.strftime('%Y%m%d-%H%M%S')}.json"
    out.write_text(json.dumps(result, indent=2) + "\n")
    print(f"written {out}")


if __name__ == "__main__":
    main()
