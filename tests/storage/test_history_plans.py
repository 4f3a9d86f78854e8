"""The membership history's reads seek its indexes, and a publish's difference merges the two
generations in key order.

A segment's feed page reads the segment's index, the tenant's feed the primary key, and a
member's history the member index one window per level of block: none walks the history
kept.
The plans are read on the very SQL and parameters each call sends, on SQLite
(``EXPLAIN QUERY PLAN``: it has no statistics, and with rows this narrow it rated the primary
key cheaper than every index until the reads named theirs) and on PostgreSQL (``EXPLAIN``
after ``ANALYZE``, sequential scans disabled: the table is tiny here, so the test asks which
index serves each read, not whether the planner prefers one for a hundred rows).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
import sqlalchemy as sa
from sqlalchemy import event
from sqlalchemy.engine import Connection

from segmentd.membership.publish_changes import Published, publish_difference
from segmentd.storage import change_log, id_blocks
from segmentd.storage.change_log import ENTERED, LEFT, last_change
from segmentd.storage.db import Database
from segmentd.storage.membership_history import (
    member_changes,
    member_state_at,
    members_moved_since,
    read_changes,
    recent_changes,
)
from segmentd.storage.schema import history_blocks, history_segments
from tests.conftest import Tenant

SEGMENT = "s" * 24
NUMBER = 3


def plans(conn: Connection, call: Callable[[Connection], Any]) -> list[list[str]]:
    """Run ``call(conn)``; the plan of every statement it sent that reads the changes."""
    sent: list[tuple[str, Any]] = []

    def capture(_conn: Any, _cursor: Any, statement: str, parameters: Any, *_: Any) -> None:
        sent.append((statement, parameters))

    event.listen(conn, "before_cursor_execute", capture)
    try:
        call(conn)
    finally:
        event.remove(conn, "before_cursor_execute", capture)
    sqlite = conn.dialect.name == "sqlite"
    if not sqlite:
        conn.exec_driver_sql("SET enable_seqscan = off")
    found = []
    for statement, parameters in sent:
        if "history_blocks" not in statement or statement.startswith("INSERT"):
            continue
        explain = "EXPLAIN QUERY PLAN " if sqlite else "EXPLAIN "
        rows = conn.exec_driver_sql(explain + statement, parameters).all()
        found.append([str(row[3] if sqlite else row[0]) for row in rows])
    return found


# (seq, segment number, member id, change): real-time changes (blocks of one) of the first two
# segments, then a publish of the first (blocks of 128 ids, one of them spanning 2^40).
CHANGES = [
    (seq, NUMBER if seq % 2 else NUMBER + 1, seq % 47, ENTERED if seq % 4 < 2 else LEFT)
    for seq in range(1, 50)
]
PUBLISHED = [*range(0, 600, 3), 2**40]


def fill(db: Database, tenant_id: int) -> list[tuple[int, int, int, int]]:
    """Changes of three segments, as the writers store them; the first two's, in seq order."""
    stored = [id_blocks.blocks(n, c, 2, [m]) for _, n, m, c in CHANGES]
    stored.append(id_blocks.blocks(NUMBER, ENTERED, 2, PUBLISHED))
    # A busier third segment (members 100 and up): the segment read is a twentieth of the
    # changes, as a feed's segment is among many, so its index is the plan's clear choice
    # (with the two at even shares PostgreSQL sometimes rated the primary key as cheap).
    stored += [id_blocks.blocks(NUMBER + 2, ENTERED, 2, [100 + k]) for k in range(1_000)]
    rows, last = [], 0
    for block in (b for found in stored for b in found):
        last += block.size
        rows.append({"tenant_id": tenant_id, "last_seq": last, "at": 1_000 + last,
                     **block._asdict()})  # fmt: skip
    named = [
        {"tenant_id": tenant_id, "segment_number": n, "segment_id": s, "list_id": 1}
        for n, s in ((NUMBER, SEGMENT), (NUMBER + 1, "t" * 24), (NUMBER + 2, "u" * 24))
    ]
    with db.write() as conn:
        conn.execute(sa.insert(history_segments), named)
        conn.execute(sa.insert(history_blocks), rows)
    if not db.is_sqlite:  # statistics, as autovacuum keeps them: a member is rarer than a segment
        with db.write() as conn:
            conn.exec_driver_sql("ANALYZE history_blocks")
    published = [(50 + k, NUMBER, m, ENTERED) for k, m in enumerate(PUBLISHED)]
    return CHANGES + published


READS: dict[str, tuple[Callable[[Connection, int], Any], str]] = {
    "segment feed": (
        lambda c, t: read_changes(c, t, after_seq=10, limit=5, segment_id=SEGMENT),
        "segment_number_last_seq",
    ),
    "segment's recent changes": (
        lambda c, t: recent_changes(c, t, before_seq=40, limit=5, segment_id=SEGMENT),
        "segment_number_last_seq",
    ),
    "members moved since": (
        lambda c, t: members_moved_since(c, t, NUMBER, 10, 0, 300),
        "segment_number_last_seq",
    ),
    "segment's last change": (lambda c, t: last_change(c, t, NUMBER), "segment_number_last_seq"),
    "tenant feed": (lambda c, t: read_changes(c, t, after_seq=10, limit=5), "pk_"),
    "member history": (
        lambda c, t: member_changes(c, t, 3, after_seq=0, limit=5),
        "level_lo_hi",
    ),
    "member history in a segment": (
        lambda c, t: member_changes(c, t, 3, after_seq=0, limit=5, segment_id=SEGMENT),
        "level_lo_hi",
    ),
    "member's recent changes": (
        lambda c, t: recent_changes(c, t, before_seq=None, limit=5, member_id=3),
        "level_lo_hi",
    ),
    "member's recent changes in a segment": (
        lambda c, t: recent_changes(
            c, t, before_seq=None, limit=5, member_id=3, segment_id=SEGMENT
        ),
        "level_lo_hi",
    ),
    "was member at": (
        lambda c, t: member_state_at(c, t, SEGMENT, 3, 1_020),
        "level_lo_hi",
    ),
}


def seeks(plan: list[str], sqlite: bool) -> bool:
    """No line of the plan walks the table."""
    if sqlite:
        return not any(line.strip().startswith(("SCAN history_blocks", "SCAN b")) for line in plan)
    return not any("Seq Scan" in line for line in plan)


def uses(plan: list[str], index: str, sqlite: bool) -> bool:
    if sqlite:
        key = "PRIMARY KEY" if index == "pk_" else index
        return any(line.strip().startswith("SEARCH") and key in line for line in plan)
    return any(index in line for line in plan)


@pytest.mark.parametrize("read", sorted(READS))
def test_each_read_of_the_history_seeks_its_index(db: Database, tenant: Tenant, read: str) -> None:
    fill(db, tenant.id)
    call, index = READS[read]
    with db.read() as conn:
        found = plans(conn, lambda c: call(c, tenant.id))
        sqlite = conn.dialect.name == "sqlite"
    assert found, read
    assert all(seeks(plan, sqlite) for plan in found), (read, found)
    assert uses(found[-1], index, sqlite), (read, found)


def test_a_member_history_reads_its_changes_in_every_block(db: Database, tenant: Tenant) -> None:
    """The answers the plans above are for: a member's changes in blocks of one and of many,
    of every level."""
    changes = fill(db, tenant.id)
    with db.read() as conn:
        history = {
            m: [c.seq for c in member_changes(conn, tenant.id, m, after_seq=0, limit=100)]
            for m in (3, 6, 2**40, 2**40 - 1)
        }
        in_segment = member_changes(conn, tenant.id, 3, after_seq=0, limit=100, segment_id=SEGMENT)
        newest = recent_changes(conn, tenant.id, before_seq=52, limit=2, member_id=3)
        moved = members_moved_since(conn, tenant.id, NUMBER, 10, 0, 300)
    for m, seqs in history.items():
        assert seqs == [seq for seq, _, member, _ in changes if member == m], m
    assert history[2**40] and history[3][-1] == 51
    assert [c.seq for c in in_segment] == [s for s, n, m, _ in changes if m == 3 and n == NUMBER]
    assert {c.segment_id for c in in_segment} == {SEGMENT}
    assert [c.seq for c in newest] == [51, 3]
    assert moved == {m for s, n, m, _ in changes if s > 10 and n == NUMBER and 0 < m <= 300}


def test_sqlite_merges_the_two_generations_of_a_publish_without_a_temporary_b_tree(
    tmp_path: Any,
) -> None:
    """Each ``EXCEPT`` ordered by member: SQLite reads both generations in primary key order
    and merges them, where an unordered ``EXCEPT`` built a temporary b-tree of each side (a
    third of the time at 450,000 rows a generation); the packing sorts nothing more."""
    db = Database(f"sqlite:///{tmp_path / 'plans.db'}")
    db.migrate()
    before, after = Published(1, 1, NUMBER, 1, 0), Published(1, 1, NUMBER, 2, 0)
    staged = publish_difference(SEGMENT, before, after, "sqlite")
    sent: list[tuple[str, Any]] = []
    try:
        with db.write_engine.connect() as conn:

            def capture(_c: Any, _cur: Any, statement: str, parameters: Any, *_: Any) -> None:
                sent.append((statement, parameters))

            event.listen(conn, "before_cursor_execute", capture)
            change_log.packed_difference(conn, staged)
            event.remove(conn, "before_cursor_execute", capture)
            statement, parameters = next((s, p) for s, p in sent if "json_group_array" in s)
            rows = conn.exec_driver_sql("EXPLAIN QUERY PLAN " + statement, parameters).all()
            conn.rollback()
    finally:
        db.dispose()
    plan = [str(row[3]) for row in rows]
    assert sum("MERGE (EXCEPT)" in line for line in plan) == 2, plan
    assert not any("TEMP B-TREE" in line and "EXCEPT" in line for line in plan), plan
    assert not any(line.startswith("SCAN segment_members") for line in plan), plan
