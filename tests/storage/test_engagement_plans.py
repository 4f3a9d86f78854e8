"""SQLite's plans for the engagement and recency leaves read each member's activity once.

Knowing the tenant, a build chunk reads the chunk's activity rows once, on the
``(tenant_id, member_id, ...)`` index, as a set it looks members up in. Without it, a
correlated subquery per member must seek the member's own rows: SQLite, which keeps no
statistics here, once took the chunk's range for a better key than the member's id and read
every row of the chunk for each member. A leaf that only asks for a row (or none), after
other alternatives of an "any" group, seeks each member it is reached for instead
(``condition_sql.alternatives``). A leaf on opens or clicks reads that event's partial index,
which holds only the rows recording it. Plans are read with ``EXPLAIN QUERY PLAN`` on the SQL a
build chunk sends.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, date
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from segmentd.domain.conditions import Group
from segmentd.domain.fields import Catalog
from segmentd.domain.native_form import parse_native
from segmentd.storage.compiler import compile_condition
from segmentd.storage.db import Database
from segmentd.storage.schema import members
from tests.storage.test_query_plans import plans_of_calls

INDEX = "COVERING INDEX ix_campaign_activity_member_"  # the times, or an event's
CHUNK = "(tenant_id=? AND member_id>? AND member_id<?)"
MEMBER = "(tenant_id=? AND member_id=?"  # and perhaps a time
WINDOW = {"amount": 30, "unit": "days"}
LEAVES = [
    {"kind": "engagement", "activity": "open", "count_op": ">=", "count": 3, "within": WINDOW},
    {"kind": "engagement", "activity": "sent", "count_op": "<", "count": 5, "within": None},
    {"kind": "engagement", "activity": "click", "count_op": "==", "count": 0, "within": None},
    {"kind": "last_activity", "activity": "engaged", "op": "more_than_ago", **WINDOW},
]
TREES = [{"all": [leaf]} for leaf in LEAVES] + [{"any": [LEAVES[3], {"not": LEAVES[0]}]}]
# The second alternative asks for a row (or none): reached after the first, it seeks.
# A leaf on one event reads that event's index; sends are in nearly every row: the times.
EVENT_INDEX = {
    "open": "ix_campaign_activity_member_opens",
    "sent": "ix_campaign_activity_member_times",
    "click": "ix_campaign_activity_member_clicks",
}
ALTERNATIVES = [{"any": [LEAVES[0], {"all": [{"not": leaf}]}]} for leaf in LEAVES[2:]]


@pytest.fixture
def db(tmp_path: Path) -> Iterator[Database]:
    database = Database(f"sqlite:///{tmp_path / 'plans.db'}")
    database.migrate()
    yield database
    database.dispose()


def chunk_plan(db: Database, condition: Group, tenant_id: int | None) -> list[str]:
    """The plan of a build chunk's select of members in (100, 20100]."""
    where = compile_condition(condition, (100, 20_100), tenant_id)
    query = sa.select(members.c.id).where(
        members.c.tenant_id == 1, members.c.list_id == 1, members.c.id > 100
    )
    query = query.where(members.c.id <= 20_100, where)
    with db.read() as conn:
        return plans_of_calls(conn, lambda c: c.execute(query).all())


def tree(raw: Any) -> Group:
    return parse_native(raw, Catalog.build(), UTC, today=date(2024, 3, 31))


@pytest.mark.parametrize("raw", TREES)
def test_knowing_the_tenant_a_chunk_reads_its_activity_once(db: Database, raw: Any) -> None:
    plan = chunk_plan(db, tree(raw), tenant_id=1)
    activity = [line for line in plan if "campaign_activity" in line]
    assert activity and all(INDEX in line and CHUNK in line for line in activity), plan
    assert not [line for line in plan if line.startswith("CORRELATED")], plan


@pytest.mark.parametrize("raw", TREES)
def test_without_the_tenant_each_member_seeks_its_own_rows(db: Database, raw: Any) -> None:
    plan = chunk_plan(db, tree(raw), tenant_id=None)
    activity = [line for line in plan if "campaign_activity" in line]
    assert activity and all(INDEX in line and MEMBER in line for line in activity), plan


@pytest.mark.parametrize("raw", ALTERNATIVES)
def test_a_later_alternative_asking_for_a_row_seeks_each_member(db: Database, raw: Any) -> None:
    plan = chunk_plan(db, tree(raw), tenant_id=1)
    activity = [line for line in plan if "campaign_activity" in line]
    as_set = [line for line in activity if CHUNK in line]
    seeking = [line for line in activity if MEMBER in line]
    assert len(as_set) == 1, plan  # the first alternative, a count of rows
    assert seeking and len(as_set) + len(seeking) == len(activity), plan


@pytest.mark.parametrize("tenant_id", [1, None])
@pytest.mark.parametrize("leaf", LEAVES[:3], ids=lambda leaf: leaf["activity"])
def test_a_leaf_on_one_event_reads_that_events_index(
    db: Database, leaf: dict[str, Any], tenant_id: int | None
) -> None:
    plan = chunk_plan(db, tree({"all": [leaf]}), tenant_id)
    activity = [line for line in plan if "campaign_activity" in line]
    assert activity and all(EVENT_INDEX[leaf["activity"]] in line for line in activity), plan
