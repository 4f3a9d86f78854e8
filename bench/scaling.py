"""Build time against members: time the builds at several sizes and draw the plot.

    python -m bench scaling [--sizes 100000,1000000,3000000] [--database sqlite ...] [--runs 3]

Each size has its own data set (generated once, then reused). Results are merged into
bench/results/scaling.json, so sizes and databases can be added one run at a time; the plot,
docs/build-scaling.png, is drawn from everything recorded there.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

from .__main__ import DEFAULT_CHUNK, RESULTS, prepare
from .databases import kind, resolve
from .figures import BY_NAME
from .runner import Job, measure

PLOT = Path(__file__).resolve().parent.parent / "docs" / "build-scaling.png"
SCALING = RESULTS / "scaling.json"
FIGURES = ("build: 3 field conditions (and)", "build: campaign open and not clicked")


def record(database: str, size: int, runs: int, seed: int) -> list[dict[str, Any]]:
    url = resolve(database, size)
    server, _ = prepare(url, size, seed)
    job = Job(url, size, seed, runs, DEFAULT_CHUNK, {})
    found = []
    for name in FIGURES:
        row = measure(BY_NAME[name], job)
        print(
            f"{server} {size:>10,} {name}: {row['median']} s, {row['peak_rss_mb']} MiB", flush=True
        )
        found.append({"database": kind(url), "server": server, "members": size, **row})
    return found


def merge(new: list[dict[str, Any]]) -> list[dict[str, Any]]:
    old = json.loads(SCALING.read_text()) if SCALING.exists() else []
    fresh = {(r["database"], r["members"], r["figure"]) for r in new}
    kept = [r for r in old if (r["database"], r["members"], r["figure"]) not in fresh]
    merged = sorted(kept + new, key=lambda r: (r["database"], r["figure"], r["members"]))
    SCALING.parent.mkdir(parents=True, exist_ok=True)
    SCALING.write_text(json.dumps(merged, indent=2) + "\n")
    return merged


def plot(rows: list[dict[str, Any]], out: Path = PLOT) -> Path:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    figure, axes = plt.subplots(figsize=(7, 4.5), dpi=110)
    series = sorted({(r["database"], r["figure"]) for r in rows if r["median"] is not None})
    for database, name in series:
        mine = [
            r for r in rows
            if (r["database"], r["figure"]) == (database, name) and r["median"] is not None
        ]  # fmt: skip
        mine.sort(key=lambda r: r["members"])
        sizes = [r["members"] / 1e6 for r in mine]
        label = f"{database}: {name.removeprefix('build: ')}"
        line = axes.plot(sizes, [r["median"] for r in mine], marker="o", label=label)[0]
        if database == "sqlite":  # SQLite works inside the process: its CPU time is the build's
            cpu = [r["median"] * (r.get("cpu_share") or 1) for r in mine]
            axes.plot(sizes, cpu, linestyle="--", color=line.get_color(), label=label + " (CPU)")
    axes.set_xlabel("members (millions)")
    axes.set_ylabel("full build, seconds (median of runs)")
    axes.set_title("segmentd: segment build time against members")
    axes.set_xlim(left=0)
    axes.set_ylim(bottom=0)
    axes.grid(True, alpha=0.3)
    axes.legend(fontsize=8)
    figure.tight_layout()
    out.parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(out)
    plt.close(figure)
    return out


def main(argv: list[str]) -> None:
    parser = argparse.ArgumentParser(
        prog="python -m bench scaling", description=__doc__.splitlines()[0]
    )
    parser.add_argument("--sizes", default="100000,1000000,3000000")
    parser.add_argument(
        "--database", action="append", help="sqlite, postgres or a URL (repeatable)"
    )
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--plot-only", action="store_true", help="redraw from scaling.json")
    args = parser.parse_args(argv)
    new: list[dict[str, Any]] = []
    if not args.plot_only:
        for database in args.database or ["sqlite", "postgres"]:
            for size in (int(s) for s in args.sizes.split(",")):
                new += record(database, size, args.runs, args.seed)
    print(f"written {plot(merge(new))}")
