"""Benchmark the CSV member import: 1,000,000 members, 10 custom fields, 3 tags each.

Generates the seeded CSV once (bench/data/), then for each database imports it into a fresh
database through the same code path as ``segmentd import members`` (one tenant, its ten
fields created first) and prints rows/s and the database used. Writes JSON to bench/results/.

    python -m bench.import_members [--rows N] [--backend sqlite|postgres ...] [--chunk-rows C]
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import tempfile
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from pathlib import Path

import sqlalchemy as sa

from segmentd.imports.import_jobs import ImportOptions, Kind
from segmentd.imports.runner import DEFAULT_CHUNK_ROWS, run_import
from segmentd.imports.service import start_cli_import
from segmentd.settings import Settings
from segmentd.storage.db import Database
from segmentd.storage.field_defs import FieldSpec, create_field
from segmentd.storage.schema import member_tags, members
from segmentd.storage.tenants import create_tenant, default_list_id

from .datagen import FIELDS, write_csv

DATA = Path(__file__).with_name("data")
RESULTS = Path(__file__).with_name("results")
POSTGRES_ADMIN_URL = os.environ.get(
    "SEGMENTD_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
)


@dataclass
class Result:
    database: str
    server: str
    rows: int
    seconds: float
    rows_per_second: float
    cpu_seconds: float  # this process (the writer)
    helper_cpu_seconds: float  # the process checking rows
    server_cpu_seconds: float  # the PostgreSQL backends of the run (0 for SQLite)
    load_average: float
    # rows/s that 2 idle cores would allow: the busiest process, or all the CPU over 2 cores
    projected_rows_per_second: float
    members: int
    member_tags: int
    chunk_rows: int


@contextmanager
def fresh_database(backend: str) -> Iterator[str]:
    if backend == "sqlite":
        with tempfile.TemporaryDirectory(prefix="segmentd-bench-") as directory:
            yield f"sqlite:///{directory}/bench.db"
        return
    name = f"segmentd_bench_{uuid.uuid4().hex[:10]}"
    admin = sa.create_engine(POSTGRES_ADMIN_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
    try:
        yield sa.make_url(POSTGRES_ADMIN_URL).set(database=name).render_as_string(False)
    finally:
        with admin.connect() as conn:
            conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def _setup(db: Database) -> int:
    """A tenant with the ten fields; its default list id."""
    with db.write() as conn:
        tenant_id = create_tenant(conn, "bench")
        for shape in FIELDS:
            create_field(
                conn,
                tenant_id,
                FieldSpec(shape.name, shape.type, shape.format, shape.options, True),
            )
        return default_list_id(conn, tenant_id)


def _server(db: Database) -> str:
    with db.read() as conn:
        if db.is_sqlite:
            return "SQLite " + str(conn.exec_driver_sql("select sqlite_version()").scalar())
        return str(conn.exec_driver_sql("show server_version").scalar()).join(("PostgreSQL ", ""))


def _backend_cpu(db: Database) -> float:
    """CPU seconds of this database's PostgreSQL backends so far (a local server: /proc)."""
    if db.is_sqlite:
        return 0.0
    with db.read() as conn:
        pids = conn.exec_driver_sql(
            "SELECT pid FROM pg_stat_activity WHERE datname = current_database()"
        ).scalars()
        total = 0
        for pid in pids:
            try:
                fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            total += int(fields[11]) + int(fields[12])  # utime, stime in clock ticks
    return total / os.sysconf("SC_CLK_TCK")


def run(backend: str, csv_path: Path, rows: int, chunk_rows: int) -> Result:
    with fresh_database(backend) as url:
        db = Database(url)
        db.migrate()
        list_id = _setup(db)
        settings = Settings(database_url=url)
        started, cpu = time.perf_counter(), time.process_time()
        children = resource.getrusage(resource.RUSAGE_CHILDREN)
        job, _ = start_cli_import(
            db, settings, list_id, Kind.MEMBERS, csv_path, ImportOptions(), "bench:0:0"
        )
        state = run_import(db, settings, job, "bench:0:0", chunk_rows=chunk_rows)
        seconds, cpu = time.perf_counter() - started, time.process_time() - cpu
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        helper = after.ru_utime + after.ru_stime - children.ru_utime - children.ru_stime
        server = _backend_cpu(db)
        assert state == "done", (state, job.error)
        with db.read() as conn:
            count = conn.execute(sa.select(sa.func.count()).select_from(members)).scalar_one()
            links = conn.execute(sa.select(sa.func.count()).select_from(member_tags)).scalar_one()
        name = _server(db)
        db.dispose()
    assert job.created == rows and count == rows, (job.created, count)
    busiest = max(cpu, helper, (cpu + helper + server) / 2)
    return Result(
        backend,
        name,
        rows,
        seconds,
        rows / seconds,
        cpu,
        helper,
        server,
        os.getloadavg()[0],
        rows / busiest,
        count,
        links,
        chunk_rows,
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--backend", action="append", choices=("sqlite", "postgres"))
    parser.add_argument("--chunk-rows", type=int, default=DEFAULT_CHUNK_ROWS)
    args = parser.parse_args()
    csv_path = write_csv(DATA / f"members-{args.rows}.csv", args.rows)
    results = []
    for backend in args.backend or ["sqlite", "postgres"]:
        result = run(backend, csv_path, args.rows, args.chunk_rows)
        results.append(result)
        print(
            f"{result.server:<22} {result.rows:>10,} rows in {result.seconds:7.1f}s = "
            f"{result.rows_per_second:>9,.0f} rows/s; CPU s: writer {result.cpu_seconds:.1f}, "
            f"checker {result.helper_cpu_seconds:.1f}, server {result.server_cpu_seconds:.1f} "
            f"=> {result.projected_rows_per_second:,.0f} rows/s on 2 idle cores "
            f"(load average {result.load_average:.1f}; {result.member_tags:,} tag links)",
            flush=True,
        )
    RESULTS.mkdir(exist_ok=True)
    out = RESULTS / "import_members.json"
    out.write_text(json.dumps([asdict(r) for r in results], indent=2) + "\n")


if __name__ == "__main__":
    main()
