"""SQLite's plans for the real-time statements seek keys, whatever the number of segments.

SQLite has no statistics here, so a plan can flip with the size of an IN list: from five
segments on, the read of a member's rows once walked every row of those segments (issue #4).
The plans are read with ``EXPLAIN QUERY PLAN`` on the very SQL and parameters a call sends.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import event
from sqlalchemy.engine import Connection

from segmentd.membership.generation_rows import read_current
from segmentd.membership.lookup_queries import member_segments_query
from segmentd.storage.catalog import load_catalog
from segmentd.storage.contacts import load_contacts
from segmentd.storage.db import Database
from segmentd.storage.member_rows import fetch_members
from segmentd.storage.members import existing_ids

FULL_KEY = "(tenant_id=? AND segment_number=? AND generation=? AND member_id=?)"


def plans_of_calls(conn: Connection, call: Any) -> list[str]:
    """Run ``call(conn)`` and return the query plan lines of every statement it sent."""
    sent: list[tuple[str, Any]] = []

    def capture(_conn: Any, _cursor: Any, statement: str, parameters: Any, *_: Any) -> None:
        sent.append((statement, parameters))

    event.listen(conn, "before_cursor_execute", capture)
    try:
        call(conn)
    finally:
        event.remove(conn, "before_cursor_execute", capture)
    return [
        str(row[3])
        for statement, parameters in sent
        for row in conn.exec_driver_sql("EXPLAIN QUERY PLAN " + statement, parameters)
    ]


@pytest.mark.parametrize("segment_count", [1, 5, 50])
def test_reading_a_members_rows_seeks_each_generation(tmp_path: Path, segment_count: int) -> None:
    db = Database(f"sqlite:///{tmp_path / 'plans.db'}")
    db.migrate()
    segment_ids = [f"{k:024x}" for k in range(segment_count)]
    try:
        with db.read() as conn:
            plans = plans_of_calls(conn, lambda c: read_current(c, 1, [7, 4_242], segment_ids))
    finally:
        db.dispose()
    rows = [line for line in plans if "segment_members" in line]
    assert rows, plans
    assert all(line.startswith("SEARCH") and FULL_KEY in line for line in rows), rows


MEMBER_BY_ID = "SEARCH members USING INTEGER PRIMARY KEY (rowid=?)"


def test_members_named_by_id_are_found_by_their_primary_key(tmp_path: Path) -> None:
    """Without statistics SQLite took ``tenant_id = ?`` on an index for as selective as the
    ids: a members page walked every member of the tenant (issue #5)."""
    db = Database(f"sqlite:///{tmp_path / 'plans.db'}")
    db.migrate()
    ids = [3, 5, 8, 13, 21]
    try:
        with db.read() as conn:
            catalog = load_catalog(conn, 1)
            calls = [
                lambda c: fetch_members(c, 1, ids, []),
                lambda c: load_contacts(c, 1, ids, catalog),
                lambda c: existing_ids(c, 1, ids),
            ]
            plans = [plans_of_calls(conn, call) for call in calls]
    finally:
        db.dispose()
    for plan in plans:
        read = [line for line in plan if "members" in line and "member_tags" not in line]
        assert read and all(MEMBER_BY_ID in line for line in read), plan


def test_the_look_up_reads_the_sites_segments_then_seeks_each_generation(tmp_path: Path) -> None:
    """An inner join let SQLite seek ``segment_members`` by the tenant alone (issue #5)."""
    db = Database(f"sqlite:///{tmp_path / 'plans.db'}")
    db.migrate()
    params = {"tenant_id": 1, "site_id": 1, "key_0": 7, "key_1": 4_242}
    try:
        with db.read() as conn:
            plans = plans_of_calls(conn, lambda c: c.execute(member_segments_query(2), params))
    finally:
        db.dispose()
    # The visitors' ids are a constant table of their own; every table is searched, none scanned.
    searched = [line for line in plans if not line.startswith(("MATERIALIZE", "SCAN visitor"))]
    assert searched[-2].startswith("SEARCH segments USING INDEX ix_segments_tenant_id_list_id")
    assert FULL_KEY in searched[-1], plans
    assert not [line for line in plans if line.startswith("SCAN segment")], plans
