"""Seeded CSV files of members for the import benchmark and tests.

Ten custom fields cover every type and format: two of each (text, number, date, birthday,
dropdown). Every member carries three tags out of a pool. The same seed gives the same file.

    python -m bench.datagen OUT.csv [--rows N] [--seed S]
"""

from __future__ import annotations

import argparse
import csv
import random
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from segmentd.domain.fields import FieldType


@dataclass(frozen=True)
class FieldShape:
    name: str
    type: FieldType
    format: str | None = None
    options: tuple[str, ...] = ()


COLORS = ("red", "green", "blue", "amber", "violet")
PLANS = ("free", "pro", "team", "enterprise")
FIELDS: tuple[FieldShape, ...] = (
    FieldShape("City", FieldType.TEXT),
    FieldShape("Company", FieldType.TEXT),
    FieldShape("Age", FieldType.NUMBER, "0"),
    FieldShape("Score", FieldType.NUMBER, ".00"),
    FieldShape("Joined", FieldType.DATE, "MM/DD/YYYY"),
    FieldShape("Renewal", FieldType.DATE, "DD/MM/YYYY"),
    FieldShape("Birthday", FieldType.BIRTHDAY, "MM/DD"),
    FieldShape("Anniversary", FieldType.BIRTHDAY, "DD/MM"),
    FieldShape("Color", FieldType.DROPDOWN, options=COLORS),
    FieldShape("Plan", FieldType.DROPDOWN, options=PLANS),
)
TAG_POOL = tuple(f"tag{i:02d}" for i in range(40))
CITIES = ("Paris", "Lyon", "Singapore", "Istanbul", "Taipei", "Osaka", "Lagos", "Lima")
HEADER = ("email", "name", "phone", "tags", *(shape.name for shape in FIELDS))


def _row(i: int, rng: random.Random) -> list[str]:
    month, day, year = rng.randint(1, 12), rng.randint(1, 28), rng.randint(1990, 2024)
    return [
        f"user{i}@example{i % 97}.com",
        f"User {i}",
        f"+33{rng.randint(100000000, 999999999)}",
        ";".join(rng.sample(TAG_POOL, 3)),
        rng.choice(CITIES),
        f"Company {rng.randint(1, 5000)}",
        str(rng.randint(18, 90)),
        f"{rng.random() * 100:.2f}",
        f"{month:02d}/{day:02d}/{year}",
        f"{day:02d}/{month:02d}/{year}",
        f"{month:02d}/{day:02d}",
        f"{day:02d}/{month:02d}",
        rng.choice(COLORS),
        rng.choice(PLANS),
    ]


def rows(count: int, seed: int = 42) -> Iterator[list[str]]:
    rng = random.Random(seed)
    for i in range(count):
        yield _row(i, rng)


def write_csv(path: Path, count: int, seed: int = 42) -> Path:
    """Write ``count`` members to ``path`` (kept if it already holds exactly that file)."""
    marker = path.with_name(path.name + f".{count}.{seed}.ok")
    if path.exists() and marker.exists():
        return path
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(HEADER)
        writer.writerows(rows(count, seed))
    marker.touch()
    return path


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("out", type=Path)
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--seed", type=int, default=42)
    args = parser.parse_args()
    write_csv(args.out, args.rows, args.seed)


if __name__ == "__main__":
    main()
