"""Counts summed side by side on a helper connection give the caller's own answer: the same
sum as one connection, and a caller that has written (whose changes a helper would not see)
is counted on its own connection only."""

from __future__ import annotations

import threading
from collections import deque
from typing import Any

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import Connection

from segmentd.storage import side_by_side
from segmentd.storage.db import Database
from segmentd.storage.schema import members
from tests.conftest import Tenant
from tests.support.factories import add_member

MEMBERS = 9
HELPER = "segmentd-count-helper"


def counts_by_member(tenant: Tenant, ids: list[int]) -> list[sa.Select[Any]]:
    return [
        sa.select(sa.func.count()).where(members.c.tenant_id == tenant.id, members.c.id == i)
        for i in ids
    ]


def helped_counts(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The names of the threads that ran statements. The caller's thread starts once a
    helper has (or after a second without one), so a helper never finds the work done."""
    threads: list[str] = []
    helper_started = threading.Event()
    drain = side_by_side._drain

    def recording(conn: Connection, left: deque[Any], stop: threading.Event) -> int:
        name = threading.current_thread().name
        if name.startswith(HELPER):
            helper_started.set()
        else:
            helper_started.wait(1.0)
        threads.append(name)
        return drain(conn, left, stop)

    monkeypatch.setattr(side_by_side, "_drain", recording)
    return threads


def test_statements_summed_beside_a_helper_give_the_one_connection_sum(
    db: Database, tenant: Tenant, monkeypatch: pytest.MonkeyPatch
) -> None:
    ids = [add_member(db, tenant.id, f"s{i}@side.test") for i in range(MEMBERS)]
    threads = helped_counts(monkeypatch)
    with db.read() as conn:
        total = side_by_side.sum_side_by_side(conn, counts_by_member(tenant, ids), False)
    assert total == MEMBERS
    assert any(name.startswith(HELPER) for name in threads)


def test_on_postgresql_the_helper_reads_the_callers_snapshot(
    db: Database, tenant: Tenant, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A member added after the caller's snapshot is in neither count; on SQLite the caller
    that needs its very snapshot counts alone."""
    ids = [add_member(db, tenant.id, f"t{i}@side.test") for i in range(MEMBERS)]
    threads = helped_counts(monkeypatch)
    with db.snapshot() as conn:
        conn.execute(sa.select(sa.func.count()).select_from(members)).scalar_one()
        late = add_member(db, tenant.id, "late@side.test")
        statements = counts_by_member(tenant, [*ids, late])
        total = side_by_side.sum_side_by_side(conn, statements, True)
    assert total == MEMBERS
    helped = any(name.startswith(HELPER) for name in threads)
    assert helped == (not db.is_sqlite)


def test_a_caller_that_has_written_counts_alone_and_sees_its_rows(
    db: Database, tenant: Tenant, monkeypatch: pytest.MonkeyPatch
) -> None:
    ids = [add_member(db, tenant.id, f"w{i}@side.test") for i in range(MEMBERS)]
    threads = helped_counts(monkeypatch)
    with db.write() as conn:
        conn.execute(sa.delete(members).where(members.c.id == ids[0]))
        total = side_by_side.sum_side_by_side(conn, counts_by_member(tenant, ids), False)
    assert total == MEMBERS - 1
    assert not any(name.startswith(HELPER) for name in threads)
