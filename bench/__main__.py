"""``python -m bench``: generate the seeded data set, run every benchmark, print one table.

    python -m bench [--members 1000000] [--database sqlite|postgres|URL] [--runs 3]
                    [--only TEXT] [--out FILE]
    python -m bench scaling [--sizes 100000,1000000,3000000] [--database sqlite --database postgres]

The first form prints the table (median of the runs, min, max, peak RSS of the measuring
process) and writes it as JSON (and Markdown beside it) under bench/results/. The second
times the builds at several sizes and draws docs/build-scaling.png.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path
from typing import Any

from segmentd.storage.db import Database

from .databases import kind, resolve, server_version
from .dataset import ensure_dataset
from .figures import FIGURES
from .report import markdown_table, text_table
from .runner import Job, measure

RESULTS = Path(__file__).with_name("results")
DEFAULT_CHUNK = 20_000


def prepare(url: str, members: int, seed: int) -> tuple[str, float]:
    """Migrate, make sure the data set is there; its server version and generation seconds."""
    db = Database(url)
    db.migrate()
    started = time.perf_counter()
    ensure_dataset(db, members, seed)
    seconds = time.perf_counter() - started
    version = server_version(db)
    db.dispose()
    return version, seconds


def run_suite(args: argparse.Namespace) -> dict[str, Any]:
    url = resolve(args.database, args.members)
    server, generated = prepare(url, args.members, args.seed)
    print(f"data set ready in {generated:.1f}s ({server}, {args.members:,} members)", flush=True)
    options = {
        "import_rows": args.import_rows, "visitors": args.visitors,
        "wrk_seconds": args.wrk_seconds, "connections": args.connections, "port": args.port,
        "p99_requests": args.p99_requests, "webhook_changes": args.webhook_changes,
    }  # fmt: skip
    job = Job(url, args.members, args.seed, args.runs, args.chunk_size, options)
    chosen = [
        f
        for f in FIGURES
        if (not args.only or any(o in f.name for o in args.only))
        and not any(s in f.name for s in args.skip or ())
    ]
    figures = []
    for figure in chosen:
        row = measure(figure, job, isolate=not args.in_process)
        figures.append(row)
        shown = "error" if row["error"] else f"{row['median']:.3f} {row['unit']}"
        notes = "".join(f", {key} {value}" for key, value in row["notes"].items())
        print(f"  {figure.name}: {shown} ({row['seconds']}s{notes})", flush=True)
    meta = {
        "database": kind(url), "server": server, "members": args.members, "seed": args.seed,
        "runs": args.runs, "build_chunk_size": args.chunk_size, "cpus": os.cpu_count(),
        "load": " ".join(f"{x:.1f}" for x in os.getloadavg()),
        "generation_seconds": round(generated, 1), "when": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
    }  # fmt: skip
    return {"meta": meta, "figures": figures}


def write(result: dict[str, Any], out: Path | None, merge: bool = False) -> Path:
    """Write the table; with ``merge``, its figures replace those of the same name in ``out``."""
    meta = result["meta"]
    out = out or RESULTS / f"bench-{meta['database']}-{meta['members']}.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    if merge and out.exists():
        result = merged(json.loads(out.read_text()), result)
    out.write_text(json.dumps(result, indent=2) + "\n")
    out.with_suffix(".md").write_text(markdown_table(result) + "\n")
    return out


def merged(old: dict[str, Any], new: dict[str, Any]) -> dict[str, Any]:
    """The figures of both, the new ones winning, in the suite's order."""
    rows = {row["figure"]: row for row in old["figures"]}
    rows.update({row["figure"]: row for row in new["figures"]})
    order = [figure.name for figure in FIGURES]
    figures = sorted(
        rows.values(),
        key=lambda r: order.index(r["figure"]) if r["figure"] in order else len(order),
    )
    return {"meta": {**old["meta"], "merged": new["meta"]}, "figures": figures}


def suite_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__.splitlines()[0])
    parser.add_argument("--members", type=int, default=1_000_000)
    parser.add_argument("--database", default="sqlite", help="sqlite, postgres or a database URL")
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--only", action="append", help="run the figures whose name holds TEXT")
    parser.add_argument(
        "--skip", action="append", help="leave out the figures whose name holds TEXT"
    )
    parser.add_argument("--chunk-size", type=int, default=DEFAULT_CHUNK, help="build chunk size")
    parser.add_argument("--import-rows", type=int, default=1_000_000, help="rows of the CSV import")
    parser.add_argument("--visitors", type=int, default=100_000, help="visitors of the look-up")
    parser.add_argument("--wrk-seconds", type=int, default=5, help="seconds per wrk run")
    parser.add_argument(
        "--p99-requests", type=int, default=300, help="upserts per run of a p99 upsert figure"
    )
    parser.add_argument(
        "--webhook-changes", type=int, default=200, help="changes per run of the webhook figure"
    )
    parser.add_argument(
        "--in-process", action="store_true", help="no process per figure (peak RSS is shared)"
    )
    parser.add_argument("--connections", type=int, default=64, help="wrk connections")
    parser.add_argument("--port", type=int, default=8765, help="port of the look-up's server")
    parser.add_argument("--out", type=Path, help="JSON file (default: bench/results/...)")
    return parser


def main(argv: list[str]) -> None:
    if argv[:1] == ["scaling"]:
        from .scaling import main as scaling_main

        scaling_main(argv[1:])
        return
    args = suite_parser().parse_args(argv)
    result = run_suite(args)
    print(text_table(result))
    # A partial run (--only) updates the table a full run wrote.
    print(f"written {write(result, args.out, merge=bool(args.only or args.skip))}")


if __name__ == "__main__":
    main(sys.argv[1:])
