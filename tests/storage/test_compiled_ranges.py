"""A build chunk compiles its condition with the chunk's id range (issue #5).

The range is repeated inside the tag and campaign subqueries so that PostgreSQL reads only
the chunk's rows; it must never change which members match. Checked on both databases for
every tag and campaign leaf, inside and across chunk boundaries.
"""

from __future__ import annotations

from itertools import pairwise

import pytest
import sqlalchemy as sa

from segmentd.domain.condition_types.campaign_leaf import CampaignCondition
from segmentd.domain.condition_types.tag_leaf import TagCondition
from segmentd.domain.conditions import Condition, Group
from segmentd.domain.operators import Activity, Op, Relation
from segmentd.storage.compiler import compile_condition
from segmentd.storage.db import Database
from segmentd.storage.schema import members
from tests.conftest import Tenant
from tests.support.factories import add_activity, add_campaign, add_member, add_tag

MEMBERS = 12


def world(db: Database, tenant: Tenant) -> tuple[list[int], int, int]:
    """Members with every second one tagged and a mix of campaign activity:
    (ids, campaign, tag)."""
    tag_id = add_tag(db, tenant.id, "vip")
    campaign_id = add_campaign(db, tenant.id)
    ids = []
    for i in range(MEMBERS):
        member_id = add_member(db, tenant.id, f"r{i}@range.test", tags=["vip"] if i % 2 else [])
        if i % 4:
            add_activity(
                db, tenant.id, campaign_id, member_id, opened=i % 4 >= 2, clicked=i % 4 == 3
            )
        ids.append(member_id)
    return ids, campaign_id, tag_id


def matching(db: Database, condition: Condition, lo: int, hi: int, ranged: bool) -> list[int]:
    compiled = compile_condition(condition, (lo, hi) if ranged else None)
    query = sa.select(members.c.id).where(members.c.id > lo, members.c.id <= hi, compiled)
    with db.read() as conn:
        return sorted(conn.execute(query).scalars())


def leaves(campaign_id: int, tag_id: int) -> list[Condition]:
    tags: list[Condition] = [TagCondition(tag_id, "vip", op) for op in (Op.EQ, Op.NE)]
    return tags + [CampaignCondition(campaign_id, activity) for activity in Activity]


@pytest.mark.parametrize("relation", [Relation.AND, Relation.OR])
def test_the_range_never_changes_the_members(
    db: Database, tenant: Tenant, relation: Relation
) -> None:
    ids, campaign_id, tag_id = world(db, tenant)
    conditions = leaves(campaign_id, tag_id)
    conditions += [Group(relation, (a, b)) for a, b in pairwise(conditions)]
    for lo, hi in [(0, ids[-1]), (ids[2], ids[7]), (ids[5], ids[6]), (ids[-1], ids[-1] + 5)]:
        for condition in conditions:
            expected = matching(db, condition, lo, hi, ranged=False)
            assert matching(db, condition, lo, hi, ranged=True) == expected, (condition, lo, hi)
