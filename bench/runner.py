"""Run each figure in a fresh process and collect its values and its peak RSS."""

from __future__ import annotations

import multiprocessing
import time
import warnings
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from typing import Any

from segmentd.settings import Settings
from segmentd.storage.db import Database

from .databases import tidy_postgres
from .dataset import ensure_dataset
from .figures import BY_NAME, Context, Figure, summary

SECRET = "bench-secret-key-for-site-tokens"


@dataclass(frozen=True)
class Job:
    """Everything a child process needs to measure one figure (picklable)."""

    url: str
    members: int
    seed: int
    runs: int
    chunk_size: int
    options: dict[str, Any]


def server_settings(url: str, chunk_size: int) -> Settings:
    return Settings(database_url=url, worker=False, build_chunk_size=chunk_size, secret_key=SECRET)


def peak_rss_mb() -> float:
    """This process's high-water resident set size (VmHWM), in MiB."""
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    return float("nan")


def measure_here(name: str, job: Job) -> dict[str, Any]:
    """In the child: open the data set, measure the figure, report values and peak RSS."""
    warnings.filterwarnings("ignore", category=DeprecationWarning)  # starlette's TestClient
    db = Database(job.url)
    tidy_postgres(db)
    ctx = Context(
        db,
        ensure_dataset(db, job.members, job.seed),
        server_settings(job.url, job.chunk_size),
        job.options,
    )
    wall, cpu = time.perf_counter(), time.process_time()
    try:
        values = BY_NAME[name].measure(ctx, job.runs)
    finally:
        ctx.close()
        db.dispose()
    # On a shared machine a low share means the process waited for a CPU (or for I/O).
    share = (time.process_time() - cpu) / (time.perf_counter() - wall)
    return {
        "values": values,
        "peak_rss_mb": round(peak_rss_mb(), 1),
        "cpu_share": round(share, 2),
        "notes": ctx.notes,
    }


def measure(figure: Figure, job: Job, isolate: bool = True) -> dict[str, Any]:
    """One figure, by default in a fresh spawned process (so its peak RSS is its own)."""
    started = time.perf_counter()
    try:
        found = _in_child(figure, job) if isolate else measure_here(figure.name, job)
    except Exception as exc:  # one broken figure must not hide the others
        found = {"values": [], "peak_rss_mb": None, "error": f"{type(exc).__name__}: {exc}"}
    values = found["values"]
    return {
        "figure": figure.name,
        "unit": figure.unit,
        "runs": len(values),
        **(summary(values) if values else {"median": None, "min": None, "max": None}),
        "values": values,
        "peak_rss_mb": found["peak_rss_mb"],
        "cpu_share": found.get("cpu_share"),
        "target": figure.target,
        "met": _met(figure, values),
        "error": found.get("error"),
        "notes": found.get("notes") or {},
        "seconds": round(time.perf_counter() - started, 1),
    }


def _met(figure: Figure, values: list[float]) -> bool | None:
    if not values:
        return None
    median = summary(values)["median"]
    if figure.at_least is not None:
        return median >= figure.at_least
    return None if figure.limit is None else median < figure.limit


def _in_child(figure: Figure, job: Job) -> dict[str, Any]:
    context = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(max_workers=1, mp_context=context) as pool:
        return pool.submit(measure_here, figure.name, job).result()
