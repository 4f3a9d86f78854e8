"""Benchmark CSV member imports whose emails repeat (rows of one email folded in a chunk).

Three seeded files of the same shape (email, name, tags, City): every email once, 1,000
emails in random order, and one email on every row. Each is imported into a fresh SQLite
file and a fresh PostgreSQL database through the code path of ``segmentd import members``;
prints rows/s per file and database, and the CPU seconds of the import (this process, the
helper process if any, the PostgreSQL backends): on a shared machine the CPU figure is the
steadier one.

    python -m bench.import_repeats [--rows N] [--backend sqlite|postgres ...] [--case NAME ...]
"""

from __future__ import annotations

import argparse
import csv
import os
import random
import resource
import time
from pathlib import Path

from segmentd.imports.import_jobs import ImportOptions, Kind
from segmentd.imports.runner import DEFAULT_CHUNK_ROWS, run_import
from segmentd.imports.service import start_cli_import
from segmentd.settings import Settings
from segmentd.storage.db import Database

from .datagen import CITIES
from .import_members import DATA, _backend_cpu, _setup, fresh_database

CASES = {"distinct": None, "1000-emails": 1000, "one-email": 1}


def write_file(path: Path, rows: int, emails: int | None, seed: int = 7) -> Path:
    rng = random.Random(seed)
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", newline="", encoding="utf-8") as handle:
        out = csv.writer(handle)
        out.writerow(["email", "name", "tags", "City"])
        for i in range(rows):
            key = i if emails is None else rng.randrange(emails)
            tags = f"tag{i % 40:02d};tag{(i * 7) % 40:02d}"
            out.writerow([f"m{key}@example.com", f"Name {i}", tags, rng.choice(CITIES)])
    return path


def _children_cpu() -> float:
    used = resource.getrusage(resource.RUSAGE_CHILDREN)
    return used.ru_utime + used.ru_stime


def run(backend: str, path: Path, rows: int) -> tuple[float, float, int, int]:
    """Seconds, CPU seconds, members created and updated."""
    with fresh_database(backend) as url:
        db = Database(url)
        db.migrate()
        list_id = _setup(db)
        settings = Settings(database_url=url)
        server = _backend_cpu(db)
        started, cpu, helper = time.perf_counter(), time.process_time(), _children_cpu()
        job, _ = start_cli_import(
            db, settings, list_id, Kind.MEMBERS, path, ImportOptions(), "bench:0:0"
        )
        state = run_import(db, settings, job, "bench:0:0", chunk_rows=DEFAULT_CHUNK_ROWS)
        seconds = time.perf_counter() - started
        cpu = time.process_time() - cpu + _children_cpu() - helper + _backend_cpu(db) - server
        db.dispose()
    assert state == "done" and job.rows_done == rows, (state, job.error, job.rows_done)
    return seconds, cpu, job.created, job.updated


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--backend", action="append", choices=("sqlite", "postgres"))
    parser.add_argument("--case", action="append", choices=tuple(CASES))
    args = parser.parse_args()
    for case in args.case or list(CASES):
        path = write_file(DATA / f"repeats-{case}-{args.rows}.csv", args.rows, CASES[case])
        for backend in args.backend or ["sqlite", "postgres"]:
            seconds, cpu, created, updated = run(backend, path, args.rows)
            print(
                f"{case:<12} {backend:<9} {args.rows:>8,} rows in {seconds:7.2f}s = "
                f"{args.rows / seconds:>9,.0f} rows/s; CPU {cpu:6.2f}s = "
                f"{args.rows / cpu:>9,.0f} rows/CPU-s ({created:,} created, {updated:,} "
                f"updated; load average {os.getloadavg()[0]:.1f})",
                flush=True,
            )


if __name__ == "__main__":
    main()
