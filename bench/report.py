"""The benchmark table: printed for people, written as JSON and Markdown for the docs."""

from __future__ import annotations

from typing import Any


def _number(value: float | None, unit: str) -> str:
    if value is None:
        return "-"
    if unit == "s":
        return f"{value:.2f}"
    if unit in ("ms", "%"):
        return f"{value:.1f}"
    return f"{value:,.0f}"


def _verdict(row: dict[str, Any]) -> str:
    if row.get("error"):
        return "ERROR"
    if row["met"] is None:
        return ""
    return "ok" if row["met"] else "MISSED"


def rows_of(result: dict[str, Any]) -> list[list[str]]:
    table = []
    for row in result["figures"]:
        rss = row["peak_rss_mb"]
        table.append(
            [
                row["figure"],
                row["unit"],
                _number(row["median"], row["unit"]),
                _number(row["min"], row["unit"]),
                _number(row["max"], row["unit"]),
                str(row["runs"]),
                "-" if rss is None else f"{rss:.0f}",
                "-" if row.get("cpu_share") is None else f"{row['cpu_share'] * 100:.0f} %",
                " ".join(part for part in (row["target"], _verdict(row)) if part),
            ]
        )
    return table


HEADER = ["figure", "unit", "median", "min", "max", "runs", "peak RSS MiB", "on CPU", "target"]


def text_table(result: dict[str, Any]) -> str:
    table = [HEADER, *rows_of(result)]
    widths = [max(len(line[i]) for line in table) for i in range(len(HEADER))]
    lines = [
        "  ".join(
            cell.ljust(w) if i == 0 else cell.rjust(w)
            for i, (cell, w) in enumerate(zip(line, widths, strict=True))
        )
        for line in table
    ]
    lines.insert(1, "-" * len(lines[0]))
    meta = result["meta"]
    title = (
        f"{meta['server']}, {meta['members']:,} members, {meta['cpus']} CPUs, load {meta['load']}"
    )
    errors = [f"  {row['figure']}: {row['error']}" for row in result["figures"] if row.get("error")]
    return "\n".join([title, *lines, *errors])


def markdown_table(result: dict[str, Any]) -> str:
    lines = ["| " + " | ".join(HEADER) + " |", "|" + "---|" * len(HEADER)]
    lines += ["| " + " | ".join(line) + " |" for line in rows_of(result)]
    return "\n".join(lines)
