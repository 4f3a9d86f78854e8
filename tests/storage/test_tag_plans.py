"""SQLite's plans for the tag leaves: one read of the chunk's tag rows, or one seek a member.

Knowing the tenant, a build chunk reads the tag rows of its range once, as a set it looks
members up in. Without it, the correlated subquery must seek the member's own rows by id: a
tag list test once took the chunk's range for the index's bounds and read every tag row of
the chunk for each member (a tree of 15 leaves ran for minutes at 1,000,000 members).
"""

from __future__ import annotations

from datetime import UTC, date
from typing import Any

import pytest

from segmentd.domain.fields import Catalog
from segmentd.domain.native_form import parse_native
from segmentd.storage.db import Database
from tests.storage import test_engagement_plans as engagement_plans
from tests.storage.test_engagement_plans import chunk_plan

TAGS = {1: "tag01", 2: "tag02", 3: "tag03"}
LEAVES = [
    {"kind": "tags", "op": "any_of", "tags": ["tag01", "tag02"]},
    {"kind": "tags", "op": "all_of", "tags": ["tag01", "tag02", "tag03"]},
    {"kind": "tags", "op": "none_of", "tags": ["tag03"]},
    {"kind": "tag", "tag": "tag02", "op": "!="},
]
TREES = [{"all": [leaf]} for leaf in LEAVES] + [{"any": [{"not": LEAVES[0]}, LEAVES[3]]}]


db = engagement_plans.db  # the same migrated SQLite file


def tree(raw: Any) -> Any:
    catalog = Catalog.build(tags=TAGS)
    return parse_native(raw, catalog, UTC, today=date(2024, 3, 31))


def tag_lines(plan: list[str]) -> list[str]:
    return [line for line in plan if "member_tags" in line]


@pytest.mark.parametrize("raw", TREES)
def test_knowing_the_tenant_a_chunk_reads_its_tag_rows_once(db: Database, raw: Any) -> None:
    plan = chunk_plan(db, tree(raw), tenant_id=1)
    assert tag_lines(plan), plan
    assert not [line for line in plan if line.startswith("CORRELATED")], plan


@pytest.mark.parametrize("raw", TREES)
def test_without_the_tenant_each_member_seeks_its_own_tags(db: Database, raw: Any) -> None:
    plan = chunk_plan(db, tree(raw), tenant_id=None)
    lines = tag_lines(plan)
    assert lines and all("member_id=?" in line for line in lines), plan
    assert not [line for line in lines if "member_id>?" in line], plan
