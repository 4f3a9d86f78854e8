"""The whole condition language, in the native form: the SQL compiler and the in-memory
evaluator select the same members, on SQLite and PostgreSQL.

Hypothesis draws the day relative dates count from and the zone, members whose values sit on
the edges of those days, and native trees of every kind and operator with all, any and not
at depth (``tests/support/condition_strategies.py``). Each tree goes native -> stored (JSON)
-> loaded, and renders back to the native tree it was; the members the compiled SQL selects
must be exactly those the evaluator accepts, on the generated members and on the members
loaded back from the database, and the preview's count (range by range of member ids, on two
connections side by side) must be their number.
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from segmentd.domain.conditions import Group
from segmentd.domain.evaluator import evaluate
from segmentd.domain.native_form import parse_native, render_native
from segmentd.domain.stored_form import dump_condition, load_condition
from segmentd.services.condition_counts import count_selected
from segmentd.storage import schema
from segmentd.storage.catalog import load_catalog
from segmentd.storage.compiler import compile_condition
from segmentd.storage.contacts import load_contacts
from segmentd.storage.db import Database
from tests.conftest import Tenant
from tests.support.condition_members import Member, campaign_offset, store_members
from tests.support.condition_strategies import World, member_lists, native_trees, worlds

# Member ids per statement of the preview's count: one member, a few, all in one.
SPANS = (1, 3, 1000)

SETTINGS = settings(
    max_examples=50,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)


def _check(db: Database, tenant: Tenant, world: World, members: list[Member], native: Any) -> None:
    now = int(datetime(2024, 3, 1, tzinfo=world.tz).timestamp())
    ids = store_members(db, tenant, members, now)
    with db.read() as conn:
        catalog = load_catalog(conn, tenant.id)
    tree = parse_native(native, catalog, world.tz, today=world.today)
    stored = dump_condition(tree)
    loaded = load_condition(json.dumps(stored), catalog, world.tz, today=world.today)
    assert loaded == tree
    assert render_native(stored, catalog) == native
    with db.read() as conn:
        selected = set(
            conn.execute(
                sa.select(schema.members.c.id).where(
                    schema.members.c.tenant_id == tenant.id, compile_condition(loaded)
                )
            ).scalars()
        )
        chunked = _selected_in_chunks(conn, tenant, loaded, sorted(ids.values()))
        counted = {
            span: count_selected(conn, tenant.id, 1, loaded, range_ids=span) for span in SPANS
        }
        reloaded = load_contacts(conn, tenant.id, ids.values(), catalog)
    offset = campaign_offset(tenant)
    expected = {ids[m.email] for m in members if evaluate(loaded, m.contact(offset))}
    assert selected == expected, (native, members)
    assert chunked == expected, (native, members)
    assert set(counted.values()) == {len(expected)}, (native, members, counted)
    assert {mid for mid, contact in reloaded.items() if evaluate(loaded, contact)} == expected


def _selected_in_chunks(conn: Any, tenant: Tenant, tree: Group, ids: list[int]) -> set[int]:
    """What a build selects: the tree compiled as a build chunk compiles it, knowing the
    tenant and each chunk's id range (the leaves then read sets of rows, not per member)."""
    middle = ids[len(ids) // 2] if ids else 0
    selected: set[int] = set()
    for lo, hi in ((0, middle), (middle, (ids[-1] if ids else 0) + 1)):
        m = schema.members.c
        compiled = compile_condition(tree, (lo, hi), tenant.id)
        query = sa.select(m.id).where(m.tenant_id == tenant.id, m.id > lo, m.id <= hi, compiled)
        selected |= set(conn.execute(query).scalars())
    return selected


@SETTINGS
@given(data=st.data())
def test_sql_and_evaluator_agree_on_native_trees(
    db: Database, tenant: Tenant, data: st.DataObject
) -> None:
    world = data.draw(worlds(campaign_offset(tenant)), label="world")
    members = data.draw(member_lists(world), label="members")
    native = data.draw(native_trees(world), label="condition")
    _check(db, tenant, world, members, native)
