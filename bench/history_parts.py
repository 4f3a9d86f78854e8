"""What a recorded publish's parts cost, each alone: which way of recording could meet the
history's target (``history: ...`` of ``python -m bench``), measured before anything is built.

    python -m bench.history_parts --database URL [--rounds 4]

Writes scratch rows: run it on a copy of a 1,000,000-member data set (``sqlite3 ... .backup``,
``CREATE DATABASE ... TEMPLATE``), never on the suite's own. It stores two plain generations
of a scratch segment number (the ``Age >= A`` and ``Age >= B`` of ``bench.history_cost``:
about 100,000 members apart), then times each way below in a write transaction that is
rolled back, ways alternating from round to round, by the wall clock and by CPU (this
process's plus the database's backends', ``bench.history_cpu``):

- ``current``: the history stored as a publish stores it (``change_log``: the difference
  packed, cut into blocks of ids, inserted);
- ``difference``: its difference alone, counted;
- ``packed``: the difference packed by the database into one value (a JSON array on SQLite,
  an array on PostgreSQL) and read (``change_log.packed_difference``): ``current`` without
  the blocks;
- ``ranges_sql``: the difference taken range by range in SQL, counted (what each fill would
  run); ``ranges_python``: range by range from the two generations' ids read as arrays (what
  SQLite's reader threads would do beside the writer).

The ways that stored the changes a row each, in scratch tables or the history's former table,
were removed with that layout (migration 0021); their figures are in docs/performance.md.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import time
from collections.abc import Callable
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from segmentd.membership.publish_changes import Published, publish_difference
from segmentd.storage import change_log
from segmentd.storage.catalog import load_catalog
from segmentd.storage.db import Database, normalize_url
from segmentd.storage.member_columns import field_column
from segmentd.storage.schema import members, segment_members

from .databases import tidy_postgres
from .history_cost import age_thresholds, context_at
from .history_cpu import own_cpu, server_cpu

SCRATCH = 900_001  # a segment number no segment has: the scratch generations' key
BEFORE, AFTER = 1, 2
RANGE = 40_000  # a range of ids taken at once by the ``ranges_`` ways
Way = Callable[[Connection], None]


class Parts:
    def __init__(self, db: Database, tenant_id: int, list_id: int) -> None:
        self.db = db
        self.tenant_id = tenant_id
        self.before = Published(tenant_id, list_id, SCRATCH, BEFORE, 0)
        self.after = Published(tenant_id, list_id, SCRATCH, AFTER, 0)
        self.moved: list[tuple[int, int]] = []  # (member id, change), by member

    def ways(self) -> dict[str, Way]:
        return {
            "current": self.current,
            "difference": self.difference,
            "packed": self.packed,
            "ranges_sql": self.ranges_sql,
            "ranges_python": self.ranges_python,
        }

    def staged_query(self) -> change_log.StagedQuery:
        dialect = "sqlite" if self.db.is_sqlite else "postgresql"
        return publish_difference("scratch", self.before, self.after, dialect)

    def current(self, conn: Connection) -> None:
        name = change_log.SegmentName(SCRATCH, self.before.list_id, named=True)
        staged = change_log._Staged(queries=[self.staged_query()], names={"scratch": name})
        change_log._store(conn, self.tenant_id, staged)

    def planned(self, conn: Connection) -> None:
        """PostgreSQL: the planner settings the history's insert runs with."""
        if not self.db.is_sqlite and self.staged_query().merged:
            for name, value in change_log._MERGED.items():
                conn.exec_driver_sql(f"SET LOCAL {name} = {value}")

    def difference(self, conn: Connection) -> None:
        self.planned(conn)
        counted = sa.select(sa.func.count()).select_from(self.staged_query().query.subquery())
        assert conn.execute(counted).scalar_one() == len(self.moved)

    def packed(self, conn: Connection) -> None:
        """The difference packed into one value by the database and read into Python."""
        assert len(change_log.packed_difference(conn, self.staged_query())) == len(self.moved)

    def ranges_sql(self, conn: Connection) -> None:
        from segmentd.membership import publish_changes as pc

        self.planned(conn)
        total = 0
        sm = segment_members.c
        for lo in range(0, self.moved[-1][0] + 1, RANGE):
            ids = (sm.member_id > lo, sm.member_id <= lo + RANGE)
            if self.db.is_sqlite:
                query: Any = sa.union_all(
                    pc._rows_except(self.after, self.before, ids, 1),
                    pc._rows_except(self.before, self.after, ids, 0),
                )
            else:
                query = pc._rows_full_joined(self.after, self.before, ids)
            total += conn.execute(
                sa.select(sa.func.count()).select_from(query.subquery())
            ).scalar_one()
        assert total == len(self.moved)

    def ranges_python(self, conn: Connection) -> None:
        total = 0
        for lo in range(0, self.moved[-1][0] + 1, RANGE):
            then, now = (set(self._ids(conn, g, lo, lo + RANGE)) for g in (BEFORE, AFTER))
            total += len(sorted(now - then)) + len(sorted(then - now))
        assert total == len(self.moved)

    def _ids(self, conn: Connection, generation: int, lo: int, hi: int) -> list[int]:
        sm = segment_members.c
        mine = (
            sm.tenant_id == self.tenant_id,
            sm.segment_number == SCRATCH,
            sm.generation == generation,
            sm.member_id > lo,
            sm.member_id <= hi,
        )
        if self.db.is_sqlite:
            found = sa.select(sa.func.json_group_array(sm.member_id)).where(*mine)
            return list(json.loads(conn.execute(found).scalar_one()))
        found = sa.select(sa.func.array_agg(sm.member_id)).where(*mine)
        return list(conn.execute(found).scalar_one() or [])

    def set_up(self, low: int, high: int) -> None:
        sm = segment_members.c
        with self.db.write() as conn:
            age = field_column(load_catalog(conn, self.tenant_id).fields["age"])
            conn.execute(sa.delete(segment_members).where(sm.segment_number == SCRATCH))
            for generation, threshold in ((BEFORE, low), (AFTER, high)):
                chosen = sa.select(
                    members.c.tenant_id, sa.literal(SCRATCH), sa.literal(generation), members.c.id
                ).where(
                    members.c.tenant_id == self.tenant_id,
                    members.c.list_id == self.before.list_id,
                    age >= threshold,
                )
                columns = ["tenant_id", "segment_number", "generation", "member_id"]
                conn.execute(sa.insert(segment_members).from_select(columns, chosen))
        tidy_postgres(self.db)
        with self.db.read() as conn:
            found = conn.execute(sa.select(self.staged_query().query.subquery())).all()
            self.moved = sorted((int(m), int(c)) for m, c in found)

    def tear_down(self) -> None:
        with self.db.write() as conn:
            sm = segment_members.c
            conn.execute(sa.delete(segment_members).where(sm.segment_number == SCRATCH))

    def timed(self, way: Way) -> tuple[float, float, float]:
        """Wall seconds, this process's CPU seconds and the database backends'."""
        with self.db.write_engine.connect() as conn:
            transaction = conn.begin()
            own, server, wall = own_cpu(), server_cpu(self.db), time.perf_counter()
            way(conn)
            wall = time.perf_counter() - wall
            own, server = own_cpu() - own, server_cpu(self.db) - server
            transaction.rollback()
        return wall, own, server


def main(argv: list[str] | None = None) -> None:

    parser = argparse.ArgumentParser(prog="python -m bench.history_parts")
    parser.add_argument("--database", required=True, help="URL of a copy of the data set")
    parser.add_argument("--members", type=int, default=1_000_000)
    parser.add_argument("--rounds", type=int, default=4)
    parser.add_argument("--only", action="append", help="ways to time (default: all)")
    args = parser.parse_args(argv)
    url = normalize_url(args.database)
    ctx = context_at(url, args.members)
    db = ctx.db
    low, high = age_thresholds(ctx, min(100_000, args.members // 10))
    parts = Parts(db, ctx.dataset.tenant_id, ctx.dataset.list_id)
    parts.set_up(low, high)
    try:
        ways = {n: w for n, w in parts.ways().items() if not args.only or n in args.only}
        print(f"Age >= {low} / >= {high}: {len(parts.moved)} changes", flush=True)
        found: dict[str, list[tuple[float, float, float]]] = {name: [] for name in ways}
        for way in ways.values():  # warm up: statements compiled, pages cached
            parts.timed(way)
        for done in range(args.rounds):
            names = list(ways) if done % 2 == 0 else list(ways)[::-1]
            for name in names:
                found[name].append(parts.timed(ways[name]))
            print(f"round {done + 1}: load {os.getloadavg()[0]:.1f}", flush=True)
        for name, times in found.items():
            walls, cpus = [w for w, _, _ in times], [o + s for _, o, s in times]
            server = statistics.median(s for _, _, s in times)
            print(
                f"{name:17} wall {statistics.median(walls):.3f} s ({min(walls):.3f} to"
                f" {max(walls):.3f}), CPU {statistics.median(cpus):.3f} s ({min(cpus):.3f} to"
                f" {max(cpus):.3f}; the server's {server:.3f} s)",
                flush=True,
            )
    finally:
        parts.tear_down()
        db.dispose()


if __name__ == "__main__":
    main()
