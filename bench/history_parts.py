"""What a recorded publish's parts cost, each alone: which way of recording could meet the
history's target (``history: ...`` of ``python -m bench``), measured before anything is built.

    python -m bench.history_parts --database URL [--rounds 4]

Writes scratch rows: run it on a copy of a 1,000,000-member data set (``sqlite3 ... .backup``,
``CREATE DATABASE ... TEMPLATE``), never on the suite's own. It stores two plain generations
of a scratch segment number (the ``Age >= A`` and ``Age >= B`` of ``bench.history_cost``:
about 100,000 members apart), then times each way below in a write transaction that is
rolled back, ways alternating from round to round, by the wall clock and by CPU (this
process's plus the database's backends', ``bench.history_cpu``):

- ``current``: the history's ``INSERT ... SELECT`` as a publish runs it (``change_log``);
- ``difference``: its difference alone, counted; ``numbered``: counted with its numbering;
- ``from_ids``: the same changes inserted from one parameter of ids, nothing compared (the
  least a publish could do if the difference were already known, say from the fills' ids);
- ``staged``: the changes written per 40,000-member range into a staging table keyed like
  ``segment_members`` (a difference taken chunk by chunk as the fill stores it), then copied
  into the history and deleted (the publish's share);
- ``bare``, ``member_index_only``: ``from_ids`` into an empty table of the history's columns
  with its primary key only, and with the member index as well (what each index costs);
- ``blocks``: the changes stored as rows of 1,000 (ids and changes as arrays under a GIN
  index on PostgreSQL, JSON arrays on SQLite): a publish writing few rows;
- ``packed``: the difference packed by the database into one value (a JSON array on SQLite,
  an array on PostgreSQL) and read; ``blocks_python``: that value cut in Python into blocks of
  sorted ids, a row each (``bench.history_blocks``, which times the whole rebuild that way);
- ``ranges_sql``: the difference taken range by range in SQL, counted (what each fill would
  run); ``ranges_python``: range by range from the two generations' ids read as arrays (what
  SQLite's reader threads would do beside the writer).
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
from segmentd.storage.schema import members, membership_changes, segment_members

from . import history_blocks
from .databases import tidy_postgres
from .dataset import ensure_dataset
from .figures import Context
from .history_cost import age_thresholds
from .history_cpu import own_cpu, server_cpu

SCRATCH = 900_001  # a segment number no segment has: the scratch generations' key
BEFORE, AFTER = 1, 2
RANGE = 40_000  # a build transaction's ids (two chunks of 20,000)
STAGING = "bench_history_staging"
BARE = "bench_history_bare"  # the history's columns, its primary key and no other index
ONE_INDEX = "bench_history_one_index"  # and the member index, not the segment's
BLOCKS = "bench_history_blocks"  # a publish's changes as rows of BLOCK ids each
BLOCK = 1_000
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
            "numbered": self.numbered,
            "from_ids": self.from_ids,
            "bare": self.bare,
            "member_index_only": self.member_index_only,
            "blocks": self.blocks,
            "packed": self.packed,
            "blocks_python": self.blocks_python,
            "staged": self.staged,
            "ranges_sql": self.ranges_sql,
            "ranges_python": self.ranges_python,
        }

    def staged_query(self) -> change_log.StagedQuery:
        dialect = "sqlite" if self.db.is_sqlite else "postgresql"
        return publish_difference("scratch", self.before, self.after, dialect)

    def last_seq(self, conn: Connection) -> int:
        mc = membership_changes.c
        top = conn.execute(sa.select(sa.func.max(mc.seq)).where(mc.tenant_id == self.tenant_id))
        return int(top.scalar() or 0)

    def current(self, conn: Connection) -> None:
        last = self.last_seq(conn)
        change_log._insert_query(conn, self.tenant_id, last, SCRATCH, 0, self.staged_query())

    def planned(self, conn: Connection) -> None:
        """PostgreSQL: the planner settings the history's insert runs with."""
        if not self.db.is_sqlite and self.staged_query().merged:
            for name, value in change_log._MERGED.items():
                conn.exec_driver_sql(f"SET LOCAL {name} = {value}")

    def difference(self, conn: Connection) -> None:
        self.planned(conn)
        counted = sa.select(sa.func.count()).select_from(self.staged_query().query.subquery())
        assert conn.execute(counted).scalar_one() == len(self.moved)

    def numbered(self, conn: Connection) -> None:
        self.planned(conn)
        found = self.staged_query().query.subquery("moved")
        seq = sa.func.row_number().over().label("seq")
        rows = sa.select(seq, found.c.member_id).subquery("numbered")
        counted = conn.execute(sa.select(sa.func.count(), sa.func.max(rows.c.seq))).one()
        assert counted[0] == len(self.moved)

    def from_ids(self, conn: Connection) -> None:
        self._insert_given(conn, self.moved, "membership_changes")

    def bare(self, conn: Connection) -> None:
        self._insert_given(conn, self.moved, BARE)

    def member_index_only(self, conn: Connection) -> None:
        self._insert_given(conn, self.moved, ONE_INDEX)

    def staged(self, conn: Connection) -> None:
        for lo in range(0, self.moved[-1][0] + 1, RANGE):
            part = [(m, c) for m, c in self.moved if lo < m <= lo + RANGE]
            if part:
                self._insert_given(conn, part, "staging")
        key = {"t": self.tenant_id, "n": SCRATCH, "g": AFTER, "last": self.last_seq(conn)}
        mine = f"FROM {STAGING} WHERE tenant_id = :t AND segment_number = :n AND generation = :g"
        conn.execute(
            sa.text(
                "INSERT INTO membership_changes (tenant_id, seq, seq_block, segment_number,"
                " member_id, change, cause, at) SELECT :t, :last + r, (:last + r) / 131072, :n,"
                " member_id, change, 2, 0 FROM (SELECT member_id, change, row_number() OVER"
                f" (ORDER BY member_id) AS r {mine}) AS s"
            ),
            key,
        )
        conn.execute(sa.text(f"DELETE {mine}"), key)

    def blocks(self, conn: Connection) -> None:
        """The difference numbered, stored as rows of ``BLOCK`` changes (ids and changes as
        arrays on PostgreSQL, under a GIN index of the ids; as JSON arrays on SQLite)."""
        self.planned(conn)
        found = self.staged_query().query.subquery("moved")
        order = None if self.db.is_sqlite else found.c.member_id
        rank = sa.func.row_number().over(order_by=order)
        numbered = sa.select(rank.label("r"), found.c.member_id, found.c.change).subquery("n")
        n = numbered.c
        block = (n.r - 1) // BLOCK
        if self.db.is_sqlite:
            ids, changes = sa.func.json_group_array(n.member_id), sa.func.json_group_array(n.change)
        else:
            ids, changes = sa.func.array_agg(n.member_id), sa.func.array_agg(n.change)
        rows = sa.select(
            sa.literal(self.tenant_id), sa.func.min(n.r), sa.literal(SCRATCH), ids, changes
        ).group_by(block)
        table = sa.table(
            BLOCKS,
            *(sa.column(c) for c in ("tenant_id", "first", "segment_number", "ids", "changes")),
        )
        insert = sa.insert(table).from_select(
            ["tenant_id", "first", "segment_number", "ids", "changes"], rows
        )
        conn.execute(insert)

    def packed(self, conn: Connection) -> None:
        """The difference packed into one value by the database and read into Python."""
        self.planned(conn)
        assert len(history_blocks.packed_difference(conn, self.staged_query())) == len(self.moved)

    def blocks_python(self, conn: Connection) -> None:
        """That value cut into blocks of sorted ids in Python, a row each
        (``bench.history_blocks``)."""
        last = self.last_seq(conn)
        top = history_blocks.insert_blocks(
            conn, self.tenant_id, last, SCRATCH, 0, self.staged_query()
        )
        assert top == last + len(self.moved)

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

    def _insert_given(self, conn: Connection, rows: list[tuple[int, int]], into: str) -> None:
        key = {"t": self.tenant_id, "n": SCRATCH, "g": AFTER, "last": self.last_seq(conn)}
        if self.db.is_sqlite:  # one JSON array, member * 2 + change, numbered by position
            source = (
                "(SELECT key + 1 AS o, value >> 1 AS m, value & 1 AS c FROM json_each(:ids))"
                " AS given"
            )
            params = {**key, "ids": json.dumps([m * 2 + c for m, c in rows])}
        else:
            source = (
                "unnest(CAST(:ids AS bigint[]), CAST(:changes AS smallint[])) WITH ORDINALITY"
                " AS u(m, c, o)"
            )
            params = {**key, "ids": [m for m, _ in rows], "changes": [c for _, c in rows]}
        if into != "staging":
            sql = (
                f"INSERT INTO {into} (tenant_id, seq, seq_block, segment_number,"
                " member_id, change, cause, at) SELECT :t, :last + o, (:last + o) / 131072, :n,"
                f" m, c, 2, 0 FROM {source}"
            )
        else:
            sql = f"INSERT INTO {STAGING} SELECT :t, :n, :g, m, c FROM {source}"
        conn.execute(sa.text(sql), params)

    def set_up(self, low: int, high: int) -> None:
        sm = segment_members.c
        without_rowid = " WITHOUT ROWID" if self.db.is_sqlite else ""
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
            conn.exec_driver_sql(
                f"CREATE TABLE IF NOT EXISTS {STAGING} (tenant_id BIGINT, segment_number BIGINT,"
                " generation BIGINT, member_id BIGINT, change SMALLINT, PRIMARY KEY (tenant_id,"
                f" segment_number, generation, member_id)){without_rowid}"
            )
            for table in (BARE, ONE_INDEX):
                conn.exec_driver_sql(
                    f"CREATE TABLE IF NOT EXISTS {table} (tenant_id BIGINT NOT NULL, seq BIGINT"
                    " NOT NULL, seq_block INTEGER NOT NULL, segment_number BIGINT NOT NULL,"
                    " member_id BIGINT NOT NULL, change SMALLINT NOT NULL, cause SMALLINT NOT"
                    f" NULL, at BIGINT NOT NULL, PRIMARY KEY (tenant_id, seq)){without_rowid}"
                )
            conn.exec_driver_sql(
                f"CREATE INDEX IF NOT EXISTS {ONE_INDEX}_member ON {ONE_INDEX} (tenant_id,"
                " seq_block, member_id, seq)"
            )
            arrays = "TEXT" if self.db.is_sqlite else "BIGINT[]"
            conn.exec_driver_sql(
                f"CREATE TABLE IF NOT EXISTS {BLOCKS} (tenant_id BIGINT NOT NULL, first BIGINT"
                f" NOT NULL, segment_number BIGINT NOT NULL, ids {arrays} NOT NULL, changes"
                f" {arrays} NOT NULL, PRIMARY KEY (tenant_id, first)){without_rowid}"
            )
            if not self.db.is_sqlite:
                conn.exec_driver_sql(
                    f"CREATE INDEX IF NOT EXISTS {BLOCKS}_ids ON {BLOCKS} USING gin (ids)"
                )
        history_blocks.create_table(self.db)
        tidy_postgres(self.db)
        with self.db.read() as conn:
            found = conn.execute(sa.select(self.staged_query().query.subquery())).all()
            self.moved = sorted((int(m), int(c)) for m, c in found)

    def tear_down(self) -> None:
        with self.db.write() as conn:
            sm = segment_members.c
            conn.execute(sa.delete(segment_members).where(sm.segment_number == SCRATCH))
            for table in (STAGING, BARE, ONE_INDEX, BLOCKS, history_blocks.TABLE):
                conn.exec_driver_sql(f"DROP TABLE IF EXISTS {table}")

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
    from .__main__ import DEFAULT_CHUNK
    from .runner import server_settings

    parser = argparse.ArgumentParser(prog="python -m bench.history_parts")
    parser.add_argument("--database", required=True, help="URL of a copy of the data set")
    parser.add_argument("--members", type=int, default=1_000_000)
    parser.add_argument("--rounds", type=int, default=4)
    parser.add_argument("--only", action="append", help="ways to time (default: all)")
    args = parser.parse_args(argv)
    url = normalize_url(args.database)
    db = Database(url)
    ctx = Context(db, ensure_dataset(db, args.members, 42), server_settings(url, DEFAULT_CHUNK))
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
