"""A one-member upsert that moves segments, on a connection that never ran one: on
PostgreSQL its statements (the tenant's lock, the segments' lock, the rows' read and write,
the history) run prepared from that first execution
(``storage.prepared``); on both databases the members move exactly and the history
records each change."""

from __future__ import annotations

from datetime import UTC

import pytest
import sqlalchemy as sa

from segmentd.jobs.build_worker import run_pending
from segmentd.services.member_service import upsert_members
from segmentd.settings import Settings
from segmentd.storage.db import Database
from segmentd.storage.field_defs import check_spec, create_field
from segmentd.storage.members import TagFlag
from segmentd.storage.schema import members
from segmentd.storage.tenants import default_list_id
from tests.conftest import Tenant
from tests.conftest import test_settings as settings_for
from tests.support.factories import held, native_segment, replayed

TZ = UTC
THIRTY = {"kind": "field", "field": "Age", "op": ">=", "value": "30"}
UNDER_50 = {"kind": "field", "field": "Age", "op": "<", "value": "50"}
# What each statement of a moving upsert has in its text, as PostgreSQL lists it.
MOVING_STATEMENTS = {
    "the tenant's lock": "pg_current_xact_id()",
    "the segments' lock": "FOR UPDATE OF segments",
    "the rows' read": "'p' AS kind",
    "the rows' write": "DELETE FROM segment_members",
    "the history": "INSERT INTO change_counters",
}


@pytest.fixture
def settings(db_url: str) -> Settings:
    return settings_for(db_url, build_parallelism=1)


def _upsert(db: Database, tenant_id: int, list_id: int, email: str, age: int) -> None:
    with db.write() as conn:
        upsert_members(
            conn,
            tenant_id,
            list_id,
            [{"email": email, "fields": {"Age": age}}],
            update_existing=True,
            tag_flag=TagFlag.APPEND,
            tz=TZ,
        )


def _prepared(db: Database) -> list[str]:
    """The statements prepared on the pool's one connection."""
    with db.write() as conn:
        rows = conn.execute(sa.text("SELECT statement FROM pg_prepared_statements"))
        return [str(row.statement) for row in rows]


def test_a_moving_upsert_runs_prepared_from_its_first_execution(
    db: Database, db_url: str, settings: Settings, tenant: Tenant
) -> None:
    t = tenant.id
    with db.write() as conn:
        create_field(conn, t, check_spec("Age", 1))
        list_id = default_list_id(conn, t)
    _upsert(db, t, list_id, "a@x.com", 20)
    _upsert(db, t, list_id, "b@x.com", 40)
    thirty = native_segment(db, t, list_id, "thirty or more", THIRTY)
    under = native_segment(db, t, list_id, "under fifty", UNDER_50)
    run_pending(db, settings)
    with db.read() as conn:
        ids = dict(conn.execute(sa.select(members.c.email_key, members.c.id)).all())
    a, b = ids["a@x.com"], ids["b@x.com"]

    fresh = Database(db_url)  # a pool whose one connection has run nothing of this
    try:
        _upsert(fresh, t, list_id, "a@x.com", 35)  # a enters "thirty or more"
        if not fresh.is_sqlite:
            prepared = _prepared(fresh)
            missing = [
                name
                for name, text in MOVING_STATEMENTS.items()
                if not any(text in statement for statement in prepared)
            ]
            assert missing == []
        _upsert(fresh, t, list_id, "b@x.com", 60)  # b leaves "under fifty"
    finally:
        fresh.dispose()

    assert held(db, thirty) == sorted([a, b]) and held(db, under) == [a]
    for segment_id in (thirty, under):
        assert replayed(db, t, segment_id) == set(held(db, segment_id))
