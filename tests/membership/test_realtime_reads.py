"""What a real-time update reads, on both databases: a change of fields that no leaf of a
segment answers differently reads none of the member's tags, activity or rows; one that
moves a segment, or a segment it refers to, still moves exactly the members it must."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC
from typing import Any

import pytest
import sqlalchemy as sa
from sqlalchemy import event
from sqlalchemy.engine import Engine

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
PARIS = {"kind": "field", "field": "City", "op": "==", "value": "paris"}
VIP = {"kind": "tags", "op": "any_of", "tags": ["vip"]}
THIRTY = {"kind": "field", "field": "Age", "op": ">=", "value": "30"}
READS_OF_THE_MEMBER = ("segment_members", "member_tags", "campaign_activity")


@pytest.fixture
def settings(db_url: str) -> Settings:
    return settings_for(db_url, build_parallelism=1)


@pytest.fixture
def list_id(db: Database, tenant: Tenant) -> int:
    with db.write() as conn:
        create_field(conn, tenant.id, check_spec("City", 0))
        create_field(conn, tenant.id, check_spec("Age", 1))
        return default_list_id(conn, tenant.id)


def upsert(db: Database, tenant_id: int, list_id: int, row: dict[str, Any]) -> None:
    with db.write() as conn:
        upsert_members(
            conn, tenant_id, list_id, [row], update_existing=True, tag_flag=TagFlag.APPEND, tz=TZ
        )


@contextmanager
def statements() -> Iterator[list[str]]:
    seen: list[str] = []

    def note(_conn: Any, _cursor: Any, statement: str, *_rest: Any) -> None:
        seen.append(statement)

    event.listen(Engine, "before_cursor_execute", note)
    try:
        yield seen
    finally:
        event.remove(Engine, "before_cursor_execute", note)


def member_id(db: Database, email: str) -> int:
    with db.read() as conn:
        found = conn.execute(sa.select(members.c.id).where(members.c.email_key == email))
        return int(found.scalar_one())


def test_a_change_no_leaf_answers_differently_reads_nothing_of_the_member_else_moves_it(
    db: Database, settings: Settings, tenant: Tenant, list_id: int
) -> None:
    t = tenant.id
    upsert(db, t, list_id, {"email": "a@x.com", "fields": {"City": "Lyon", "Age": 20}})
    upsert(db, t, list_id, {"email": "b@x.com", "fields": {"City": "Lyon", "Age": 40}})
    upsert(db, t, list_id, {"email": "b@x.com", "tags": ["vip"]})
    a, b = member_id(db, "a@x.com"), member_id(db, "b@x.com")
    parisian = native_segment(db, t, list_id, "parisian vip", {"all": [PARIS, VIP]})
    older = native_segment(db, t, list_id, "older parisian vip", {
        "all": [THIRTY, {"kind": "segment", "segment": parisian, "op": "in"}]
    })  # fmt: skip
    run_pending(db, settings)

    with statements() as seen:  # City and Age change, and no leaf answers differently
        upsert(db, t, list_id, {"email": "a@x.com", "fields": {"City": "Nice", "Age": 25}})
    assert seen and not [s for s in seen if any(name in s for name in READS_OF_THE_MEMBER)]

    # b's City moves it into the segment it refers to, and so into the referring one, whose
    # own leaves (Age) answer as before.
    upsert(db, t, list_id, {"email": "b@x.com", "fields": {"City": "paris"}})
    # a's Age flips a leaf of the referring segment, whose reference holds a no more than
    # before: nothing moves.
    upsert(db, t, list_id, {"email": "a@x.com", "fields": {"City": "paris", "Age": 35}})
    assert held(db, parisian) == [b] and held(db, older) == [b]
    upsert(db, t, list_id, {"email": "a@x.com", "tags": ["vip"]})
    assert held(db, parisian) == sorted([a, b]) and held(db, older) == sorted([a, b])
    for segment_id in (parisian, older):
        assert replayed(db, t, segment_id) == set(held(db, segment_id))
