"""Benchmark the Commanders Act look-up against the same server's /healthz.

Fills a fresh database with 100,000 visitors (members with tcids) and their memberships,
runs ``segmentd serve`` on loopback, and drives it with wrk (Debian's package): /healthz,
then the look-up by cookie and by tcid + token, each visitor picked at random per request.
Prints a table and writes JSON to bench/results/.

    python -m bench.lookup [--database URL] [--visitors N] [--duration S] [--connections C]
                           [--workers N]

The server runs as the README advises for production: ``segmentd serve --workers 2`` on this
2-core machine (one process per core; ``--workers`` changes it).
"""

from __future__ import annotations

import argparse
import json
import os
import random
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from pathlib import Path

import httpx
import sqlalchemy as sa

from segmentd.random_ids import new_segment_id
from segmentd.secrets import TokenKeys
from segmentd.storage.db import Database
from segmentd.storage.schema import members, metadata, segment_members, segments, tenants
from segmentd.storage.sites import create_site
from segmentd.storage.tenants import create_credential, create_tenant

RESULTS = Path(__file__).with_name("results")
SECRET = "bench-secret-key-for-site-tokens"
FIRST_TCID = 1_000_000
SEGMENT_COUNT = 12
INSERT_BATCH = 5_000
DEFAULT_WORKERS = 2  # what the README advises for production on this 2-core machine


@dataclass
class Fixture:
    tenant_id: int
    site_id: int
    token: str
    visitors: int


@dataclass
class Run:
    name: str
    requests_per_second: float
    p50_ms: float
    p99_ms: float
    errors: int


def fill(db: Database, visitors: int, seed: int = 7) -> Fixture:
    """One tenant, one site with 12 published segments, ``visitors`` members in ~3 of them."""
    rng = random.Random(seed)
    now = int(time.time())
    with db.write() as conn:
        tenant_id = create_tenant(conn, "bench")
        create_credential(conn, tenant_id)
        site, token = create_site(conn, tenant_id, "bench site", TokenKeys(SECRET))
        # Numbered 1.. as the tenant's first segments (``storage.segments.create_segment``).
        numbers = {new_segment_id(): number for number in range(1, SEGMENT_COUNT + 1)}
        conn.execute(
            sa.insert(segments),
            [_segment(tenant_id, site.id, sid, n, now) for sid, n in numbers.items()],
        )
        conn.execute(
            sa.update(tenants)
            .where(tenants.c.id == tenant_id)
            .values(last_segment_number=SEGMENT_COUNT)
        )
    segment_numbers = list(numbers.values())
    for start in range(0, visitors, INSERT_BATCH):
        ids = range(start, min(start + INSERT_BATCH, visitors))
        with db.write() as conn:
            member_ids = _insert_members(conn, tenant_id, site.id, ids, now)
            rows = [
                {"tenant_id": tenant_id, "segment_number": n, "generation": 1, "member_id": mid}
                for mid in member_ids
                for n in rng.sample(segment_numbers, rng.randint(0, 6))
            ]
            conn.execute(sa.insert(segment_members), rows)
    # Planner statistics, as a live database has them (autovacuum would gather them soon):
    # without them PostgreSQL guesses one row everywhere and picks poor indexes. Not on
    # SQLite: segmentd never analyses it, and statistics left in the data set's file would
    # change the plans of every figure run after this one.
    if not db.is_sqlite:
        with db.write() as conn:
            conn.exec_driver_sql("ANALYZE")
    return Fixture(tenant_id, site.id, token, visitors)


def _segment(
    tenant_id: int, site_id: int, segment_id: str, number: int, now: int
) -> dict[str, object]:
    return {
        "id": segment_id, "number": number, "tenant_id": tenant_id, "list_id": site_id,
        "commandersact_id": f"{number:08X}",
        "name": f"bench {segment_id[-4:]}",
        "segment_type": 0, "condition": "{}", "status": 2, "percent": 100, "generation": 1,
        "member_total": 0, "created_at": now, "updated_at": now, "built_at": now,
    }  # fmt: skip


def _insert_members(
    conn: sa.Connection, tenant_id: int, site_id: int, ids: range, now: int
) -> list[int]:
    rows = [
        {
            "tenant_id": tenant_id, "list_id": site_id, "email": f"v{i}@bench.example",
            "email_key": f"v{i}@bench.example", "domain": "bench.example",
            "tcid": str(FIRST_TCID + i), "created_at": now, "updated_at": now,
        }
        for i in ids
    ]  # fmt: skip
    conn.execute(sa.insert(members), rows)
    found = conn.execute(
        sa.select(members.c.id).where(
            members.c.tenant_id == tenant_id,
            members.c.list_id == site_id,
            members.c.tcid.in_([str(FIRST_TCID + i) for i in ids]),
        )
    )
    return [int(row.id) for row in found]


def lua_script(fixture: Fixture, by_cookie: bool) -> str:
    """A wrk script asking for a random visitor on every request.

    By cookie, each visitor comes from an address of its own, forwarded by wrk as a proxy
    would (``SEGMENTD_TRUSTED_PROXIES=127.0.0.1``): a browser per address, as on a real site,
    rather than one client walking through every visitor (which the look-up refuses)."""
    path = f"/api/dms/segmentation/segments?site={fixture.site_id}&callback=tC_funcEngage"
    if by_cookie:
        octets = ("math.floor(i / 65536) % 256", "math.floor(i / 256) % 256", "i % 256")
        address = '"10"' + "".join(f' .. "." .. {octet}' for octet in octets)
        headers = f'{{["Cookie"] = "TCID=" .. tcid, ["X-Forwarded-For"] = {address}}}'
        make = f'wrk.format("GET", "{path}", {headers})'
    else:
        make = f'wrk.format("GET", "{path}&token={fixture.token}&tcid=" .. tcid)'
    return (
        "local counter = 0\n"
        "setup = function(thread) counter = counter + 1; thread:set('seed', counter) end\n"
        "init = function(args) math.randomseed(os.time() * 100 + (seed or 0)) end\n"
        "request = function()\n"
        f"  local i = math.random(0, {fixture.visitors - 1})\n"
        f"  local tcid = {FIRST_TCID} + i\n"
        f"  return {make}\n"
        "end\n"
    )


def parse_wrk(name: str, output: str) -> Run:
    rate = float(_find(r"Requests/sec:\s+([\d.]+)", output))
    errors = int(_find(r"Non-2xx or 3xx responses:\s+(\d+)", output, "0"))
    errors += sum(int(n) for n in re.findall(r"(?:connect|read|write|timeout) (\d+)", output))
    return Run(
        name,
        rate,
        _ms(_find(r"(?m)^\s+50%\s+(\S+)", output)),
        _ms(_find(r"(?m)^\s+99%\s+(\S+)", output)),
        errors,
    )


def _find(pattern: str, text: str, default: str | None = None) -> str:
    match = re.search(pattern, text)
    if match:
        return match[1]
    if default is None:
        raise RuntimeError(f"wrk output lacks {pattern!r}:\n{text}")
    return default


def _ms(value: str) -> float:
    """wrk's latency (``812.00us``, ``1.20ms``, ``2.01s``, ``1.00m``) in milliseconds."""
    match = re.fullmatch(r"([\d.]+)(us|ms|s|m)", value)
    if match is None:
        raise RuntimeError(f"unexpected wrk latency {value!r}")
    return float(match[1]) * {"us": 0.001, "ms": 1.0, "s": 1000.0, "m": 60_000.0}[match[2]]


def wrk(url: str, duration: int, connections: int, script: Path | None = None) -> str:
    command = ["wrk", "-t2", f"-c{connections}", f"-d{duration}s", "--latency"]
    command += ["-s", str(script)] if script else []
    done = subprocess.run([*command, url], capture_output=True, text=True, check=True)
    return done.stdout


@contextmanager
def serve(
    database_url: str,
    port: int,
    workdir: Path,
    workers: int = 1,
    settings: dict[str, str] | None = None,
) -> Iterator[str]:
    env = {
        **os.environ,
        "SEGMENTD_SECRET_KEY": SECRET,
        "SEGMENTD_WORKER": "false",
        "SEGMENTD_TRUSTED_PROXIES": "127.0.0.1",  # wrk stands for a proxy (``lua_script``)
        **(settings or {}),
    }
    segmentd = shutil.which("segmentd") or str(Path(sys.executable).with_name("segmentd"))
    command = [segmentd, "serve", "--port", str(port), "--database", database_url, "--no-worker"]
    command += ["--workers", str(workers)]
    log = (workdir / "serve.log").open("wb")
    proc = subprocess.Popen(command, cwd=workdir, env=env, stdout=log, stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}"
    try:
        _wait_healthy(base, proc)
        yield base
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(timeout=30)
        log.close()


def _wait_healthy(base: str, proc: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError("segmentd serve exited")
        try:
            if httpx.get(f"{base}/healthz", timeout=1).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.1)
    raise RuntimeError("segmentd serve did not start")


def check_answer(base: str, fixture: Fixture) -> str:
    """One look-up by hand, so a broken endpoint cannot pass for a fast one."""
    answer = httpx.get(
        f"{base}/api/dms/segmentation/segments",
        params={
            "site": fixture.site_id,
            "callback": "cb",
            "tcid": FIRST_TCID,
            "token": fixture.token,
        },
    )
    if answer.status_code != 200 or not answer.text.startswith("/**/cb(["):
        raise RuntimeError(f"look-up is broken: {answer.status_code} {answer.text[:200]}")
    return answer.text


def drop_tenant(db: Database, tenant_id: int) -> None:
    """Delete the fixture's tenant and everything it owns: run in the suite's data set, a
    tenant left behind per run would grow ``segment_members`` under every later figure."""
    with db.write() as conn:
        for table in reversed(metadata.sorted_tables):
            if "tenant_id" in table.c:
                conn.execute(sa.delete(table).where(table.c.tenant_id == tenant_id))
        conn.execute(sa.delete(tenants).where(tenants.c.id == tenant_id))


def benchmark(args: argparse.Namespace, workdir: Path) -> dict[str, object]:
    database_url = args.database or f"sqlite:///{workdir / 'bench.db'}"
    db = Database(database_url)
    db.migrate()
    started = time.monotonic()
    fixture = fill(db, args.visitors)
    db.dispose()  # the server alone uses the database while measured
    fill_seconds = time.monotonic() - started
    try:
        return _measure(args, database_url, workdir, fixture, fill_seconds)
    finally:
        db = Database(database_url)
        drop_tenant(db, fixture.tenant_id)
        db.dispose()


def _measure(
    args: argparse.Namespace,
    database_url: str,
    workdir: Path,
    fixture: Fixture,
    fill_seconds: float,
) -> dict[str, object]:
    runs = []
    workers = getattr(args, "workers", DEFAULT_WORKERS)  # bench/figures.py passes none
    load_before = os.getloadavg()
    with serve(database_url, args.port, workdir, workers) as base:
        sample = check_answer(base, fixture)
        scripts = {name: workdir / f"{name}.lua" for name in ("cookie", "token")}
        scripts["cookie"].write_text(lua_script(fixture, by_cookie=True))
        scripts["token"].write_text(lua_script(fixture, by_cookie=False))
        wrk(f"{base}/healthz", min(2, args.duration), args.connections)  # warm-up
        runs.append(parse_wrk("healthz", wrk(f"{base}/healthz", args.duration, args.connections)))
        for name, script in scripts.items():
            output = wrk(base, args.duration, args.connections, script)
            runs.append(parse_wrk(f"lookup ({name})", output))
    return {
        "database": "sqlite" if database_url.startswith("sqlite") else "postgresql",
        "visitors": args.visitors,
        "fill_seconds": round(fill_seconds, 1),
        "duration_seconds": args.duration,
        "connections": args.connections,
        "threads": 2,
        "workers": workers,
        "load_average_before": [round(load, 2) for load in load_before],
        "load_average_after": [round(load, 2) for load in os.getloadavg()],
        "sample_answer": sample,
        "runs": [asdict(run) for run in runs],
    }


def report(result: dict[str, object]) -> None:
    runs = result["runs"]
    assert isinstance(runs, list)
    health = runs[0]["requests_per_second"]
    print(f"{'endpoint':<18}{'req/s':>10}{'p50 ms':>9}{'p99 ms':>9}{'errors':>8}{'vs healthz':>12}")
    for run in runs:
        share = run["requests_per_second"] / health * 100
        print(
            f"{run['name']:<18}{run['requests_per_second']:>10.0f}{run['p50_ms']:>9.2f}"
            f"{run['p99_ms']:>9.2f}{run['errors']:>8}{share:>11.0f}%"
        )
    before, after = result["load_average_before"], result["load_average_after"]
    print(f"workers {result['workers']}; load average before {before}, after {after}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database", help="database URL (default: a fresh SQLite file)")
    parser.add_argument("--visitors", type=int, default=100_000)
    parser.add_argument("--duration", type=int, default=10, help="seconds per wrk run")
    parser.add_argument("--connections", type=int, default=64)
    parser.add_argument("--port", type=int, default=8765)
    parser.add_argument(
        "--workers",
        type=int,
        default=DEFAULT_WORKERS,
        help="segmentd serve --workers (README: one per core)",
    )
    args = parser.parse_args()
    if not shutil.which("wrk"):
        sys.exit("wrk is missing: apt-get install -y wrk")
    with tempfile.TemporaryDirectory(prefix="segmentd-bench-") as tmp:
        result = benchmark(args, Path(tmp))
    result["when"] = time.strftime("%Y-%m-%dT%H:%M:%S%z")
    result["cpus"] = os.cpu_count()
    report(result)
    RESULTS.mkdir(exist_ok=True)
    out = RESULTS / f"lookup-{time.strftime('%Y%m%d-%H%M%S')}.json"
    out.write_text(json.dumps(result, indent=2) + "\n")
    print(f"written {out}")


if __name__ == "__main__":
    main()
