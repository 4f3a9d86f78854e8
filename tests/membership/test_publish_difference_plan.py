"""A publish's difference reads each generation's rows once, whatever PostgreSQL's statistics
say: with statistics taken while ``segment_members`` was empty (a fresh install, before
autovacuum analyzes it), an anti-join was planned as a nested loop reading the whole other
generation for every row, and a rebuild of 100,000 members spent minutes in its publish. The
difference is one full join of the two generations, run with nested loops and hash joins
off: merged in key order."""

from __future__ import annotations

from typing import Any

import pytest
import sqlalchemy as sa
from sqlalchemy import event

from segmentd.jobs.build_worker import run_pending
from segmentd.membership.publish_changes import Published, publish_difference
from segmentd.storage import change_log
from segmentd.storage.db import Database
from segmentd.storage.schema import segments
from tests.conftest import Tenant
from tests.conftest import test_settings as settings_for
from tests.membership.test_history import city, lives_in, native_segment, redefine, upsert

__all__ = ["city"]  # the fixture, used by name


@pytest.mark.parametrize(
    "db_url", [pytest.param("postgres", marks=pytest.mark.postgres)], indirect=True
)
def test_the_difference_is_one_merged_join_even_with_empty_statistics(
    db: Database, db_url: str, tenant: Tenant, city: int
) -> None:
    t = tenant.id
    with db.write() as conn:
        conn.exec_driver_sql("ANALYZE segment_members")  # no rows yet: reltuples 0
    towns = ["paris", "Lyon", "Nice"]
    upsert(db, t, city, *(lives_in(f"m{i}@x.com", towns[i % 3]) for i in range(300)))
    segment = native_segment(
        db, t, city, {"all": [{"kind": "field", "field": "City", "op": "!=", "value": "paris"}]}
    )
    settings = settings_for(db_url, build_parallelism=1, build_complement_share=1.0)
    run_pending(db, settings)
    redefine(db, t, segment, "Lyon")
    with db.read() as conn:
        row = conn.execute(
            sa.select(segments.c.list_id, segments.c.number, segments.c.generation).where(
                segments.c.tenant_id == t, segments.c.id == segment
            )
        ).one()
        published = Published(t, row.list_id, row.number, row.generation, 0)
        staged = publish_difference(segment, published, published, "postgresql")
        assert conn.execute(staged.query).all() == []  # the same generation both sides
    sent: list[tuple[str, Any]] = []
    with db.write_engine.connect() as conn:

        def capture(_c: Any, _cur: Any, statement: str, parameters: Any, *_: Any) -> None:
            sent.append((statement, parameters))

        event.listen(conn, "before_cursor_execute", capture)
        change_log.packed_difference(conn, staged)
        event.remove(conn, "before_cursor_execute", capture)
        at = next(i for i, (s, _) in enumerate(sent) if "array_agg" in s)
        statement, parameters = sent[at]
        planner = [s for s, _ in sent[:at] if s.startswith("SET LOCAL")]
        for setting in planner:  # as the history ran it
            conn.exec_driver_sql(setting)
        plan = [line for (line,) in conn.exec_driver_sql("EXPLAIN " + statement, parameters)]
        conn.rollback()
    assert "SET LOCAL enable_nestloop = off" in planner, sent
    assert "SET LOCAL enable_hashjoin = off" in planner, sent
    assert sum("Merge Full Join" in line for line in plan) == 1, plan
    assert not any("Nested Loop" in line or "Hash" in line for line in plan), plan
    run_pending(db, settings)  # and the rebuild publishes
