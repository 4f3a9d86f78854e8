"""Hand-picked cases where ClickHouse could part from the evaluator: missing values under
not, members without tags, the edges of days in the tenant's zone, text that looks like SQL,
dates far from today; and what the full load promises (replacing, batches, progress)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta, timezone
from typing import Any

import pytest

from segmentd.analytics.clickhouse_compiler import members_query
from segmentd.analytics.clickhouse_sql.ch_leaf_compilers import CH_COMPILERS
from segmentd.analytics.full_load import LoadProgress, Target, counts, current_load, load_all
from segmentd.analytics.read_point import ReadPoint
from segmentd.domain.condition_types.leaf_types import BY_KIND
from segmentd.domain.contact import CampaignActivity
from segmentd.domain.native_form import parse_native
from segmentd.domain.relative_days import day_number, day_start
from segmentd.membership import store
from segmentd.storage.catalog import load_catalog
from segmentd.storage.db import Database
from tests.analytics.agreement_world import by_clickhouse, by_evaluator, by_sql, load
from tests.conftest import Tenant
from tests.support.condition_members import Member, campaign_offset, store_members

TZ = timezone(timedelta(hours=8))
TODAY = date(2024, 3, 1)
MIDNIGHT = day_start(TODAY, TZ)  # 2024-03-01 00:00 at +08:00: 2024-02-29 16:00 UTC
DAY = 86_400


@dataclass
class Person:
    email: str
    values: dict[str, Any] = field(default_factory=dict)
    name: str | None = None
    created_at: int = MIDNIGHT - 10 * DAY
    unsubscribed_at: int | None = None
    tags: frozenset[str] = frozenset()
    campaigns: dict[int, CampaignActivity] = field(default_factory=dict)

    def member(self) -> Member:
        return Member(
            self.email, self.name, self.values, self.created_at, self.created_at,
            self.unsubscribed_at, self.tags, self.campaigns,
        )  # fmt: skip


def _selects(
    db: Database, tenant: Tenant, target: Target, people: list[Person], native: Any
) -> set[str]:
    """The emails the tree selects, the same on all three paths (else the test fails)."""
    members = [p.member() for p in people]
    ids = store_members(db, tenant, members, MIDNIGHT)
    load(db, target, tenant.id)
    with db.read() as conn:
        catalog = load_catalog(conn, tenant.id)
    tree = parse_native(native, catalog, TZ, today=TODAY)
    offset = campaign_offset(tenant)
    expected = by_evaluator(tree, {ids[m.email]: m.contact(offset) for m in members}, {})
    assert by_sql(db, tenant.id, tree) == expected
    assert by_clickhouse(target, tenant.id, tree) == expected
    emails = {member_id: email for email, member_id in ids.items()}
    return {emails[member_id] for member_id in expected}


def _all(*items: Any) -> dict[str, Any]:
    return {"all": list(items)}


def field_leaf(name: str, op: str, **args: Any) -> dict[str, Any]:
    return {"kind": "field", "field": name, "op": op, **args}


def test_a_missing_value_fails_a_comparison_and_passes_its_negation(
    db: Database, tenant: Tenant, analytics: Target
) -> None:
    people = [
        Person("none@x.io"),
        Person("young@x.io", {"Age": 3.0}),
        Person("old@x.io", {"Age": 45.0}),
    ]
    assert _selects(db, tenant, analytics, people, _all(field_leaf("Age", ">", value="5"))) == {
        "old@x.io"
    }
    negated = _all({"not": field_leaf("Age", ">", value="5")})
    assert _selects(db, tenant, analytics, people, negated) == {"none@x.io", "young@x.io"}
    # != holds for a member without a value, so its negation leaves that member out.
    assert _selects(db, tenant, analytics, people, _all(field_leaf("Age", "!=", value="3"))) == {
        "none@x.io", "old@x.io"
    }  # fmt: skip
    double = _all(
        {
            "not": {
                "any": [field_leaf("Age", "!=", value="3"), {"not": field_leaf("City", "is_set")}]
            }
        }
    )
    assert _selects(db, tenant, analytics, people, double) == set()
    not_in = _all(field_leaf("Age", "not_in", values=["3"]))
    assert _selects(db, tenant, analytics, people, not_in) == {"none@x.io", "old@x.io"}


def test_members_without_tags(db: Database, tenant: Tenant, analytics: Target) -> None:
    people = [Person("bare@x.io"), Person("vip@x.io", tags=frozenset({"vip"}))]
    cases = {
        "none_of": {"bare@x.io"},
        "any_of": {"vip@x.io"},
        "all_of": set(),
    }
    for op, wanted in cases.items():
        tree = _all({"kind": "tags", "op": op, "tags": ["vip", "news"]})
        assert _selects(db, tenant, analytics, people, tree) == wanted, op
    negated_all = _all({"not": {"kind": "tags", "op": "all_of", "tags": ["vip"]}})
    assert _selects(db, tenant, analytics, people, negated_all) == {"bare@x.io"}
    # Tag names differing only in case are different tags.
    upper = _all({"kind": "tag", "tag": "VIP", "op": "!="})
    assert _selects(db, tenant, analytics, people, upper) == {"bare@x.io", "vip@x.io"}


def test_day_boundaries_in_the_tenants_zone(
    db: Database, tenant: Tenant, analytics: Target
) -> None:
    people = [
        Person(f"at{second}@x.io", created_at=MIDNIGHT + second) for second in (-1, 0, DAY - 1, DAY)
    ]
    on_the_day = _all(field_leaf("CreateTime", "==", value="2024-03-01"))
    assert _selects(db, tenant, analytics, people, on_the_day) == {"at0@x.io", f"at{DAY - 1}@x.io"}
    today = _all(field_leaf("CreateTime", "is_today"))
    assert _selects(db, tenant, analytics, people, today) == {"at0@x.io", f"at{DAY - 1}@x.io"}
    before = _all(field_leaf("CreateTime", "more_than_ago", amount=1, unit="days"))
    assert _selects(db, tenant, analytics, people, before) == set()
    opened = [
        Person(
            f"o{s}@x.io",
            campaigns={1: CampaignActivity(MIDNIGHT - 7 * DAY + s, MIDNIGHT - 7 * DAY + s)},
        )
        for s in (-1, 0)
    ]
    recent = _all(
        {"kind": "last_activity", "activity": "open", "op": "in_last", "amount": 1, "unit": "weeks"}
    )
    assert _selects(db, tenant, analytics, opened, recent) == {"o0@x.io"}
    counted = _all({"kind": "engagement", "activity": "open", "count_op": "==", "count": 0,
                    "within": {"amount": 7, "unit": "days"}})  # fmt: skip
    assert _selects(db, tenant, analytics, opened, counted) == {"o-1@x.io"}


@pytest.mark.parametrize(
    "text", ["it's", "back\\slash", "{p0:String}", "x' OR 1=1 --", "'); DROP TABLE members; --"]
)
def test_text_is_bound_never_spliced(
    db: Database, tenant: Tenant, analytics: Target, text: str
) -> None:
    people = [Person("hit@x.io", {"City": text}), Person("miss@x.io", {"City": "other"})]
    for op in ("==", "contain"):
        tree = _all(field_leaf("City", op, value=text))
        assert _selects(db, tenant, analytics, people, tree) == {"hit@x.io"}, op
    starts = _all(field_leaf("City", "starts_with", value=text[:3]))
    assert _selects(db, tenant, analytics, people, starts) == {"hit@x.io"}
    assert counts(analytics, tenant.id)["members"] == 2
    with db.read() as conn:
        catalog = load_catalog(conn, tenant.id)
    tree = parse_native(_all(field_leaf("City", "==", value=text)), catalog, TZ, today=TODAY)
    query = members_query(tree, tenant.id, analytics.database, ReadPoint(1))
    assert text.lower() not in query.sql and text.lower() in query.params.values()


def test_anniversaries_of_dates_far_from_today(
    db: Database, tenant: Tenant, analytics: Target
) -> None:
    days = {
        "y1": date(1, 3, 1),
        "y9999": date(9999, 3, 2),
        "leap": date(2020, 2, 29),
        "near": date(1969, 12, 31),
    }
    people = [Person(f"{k}@x.io", {"Signup": day_number(d)}) for k, d in days.items()]
    coming = _all(field_leaf("Signup", "anniversary_in_next", amount=1, unit="days"))
    # From 1 March 2024 (a leap year): 1 and 2 March; 29 February has passed.
    assert _selects(db, tenant, analytics, people, coming) == {"y1@x.io", "y9999@x.io"}
    month = _all(field_leaf("Signup", "anniversary_this_month"))
    assert _selects(db, tenant, analytics, people, month) == {"y1@x.io", "y9999@x.io"}


def test_a_reload_replaces_and_reports_progress(
    db: Database, tenant: Tenant, analytics: Target
) -> None:
    people = [
        Person(f"m{i}@x.io", tags=frozenset({"vip"}), campaigns={1: CampaignActivity(1)})
        for i in range(7)
    ]
    store_members(db, tenant, [p.member() for p in people], MIDNIGHT)
    seen: list[LoadProgress] = []
    written = load_all(db, analytics, store().member_ids, batch=3, progress=seen.append)
    assert written[tenant.id] == {
        "members": 7,
        "member_tags": 7,
        "campaign_activity": 7,
        "segment_members": 0,
    }
    assert [p.rows for p in seen if p.table == "members"] == [3, 6, 7]
    store_members(db, tenant, [p.member() for p in people[:2]], MIDNIGHT)
    load(db, analytics, tenant.id)
    load(db, analytics, tenant.id)  # twice: still one copy
    assert counts(analytics, tenant.id) == {
        "members": 2, "member_tags": 2, "campaign_activity": 2, "segment_members": 0
    }  # fmt: skip


def test_the_clock_is_the_trees_day_not_the_machines(
    db: Database, tenant: Tenant, analytics: Target
) -> None:
    """Relative dates resolve when the tree is read (``today``): the query holds absolute
    bounds, so ClickHouse's own clock never enters."""
    people = [
        Person("late@x.io", created_at=int(datetime(2024, 2, 29, 16, tzinfo=UTC).timestamp()))
    ]
    tree = _all(field_leaf("CreateTime", "in_last", amount=1, unit="days"))
    assert _selects(db, tenant, analytics, people, tree) == {"late@x.io"}


def test_a_row_the_next_load_does_not_write_again_is_never_read(
    db: Database, tenant: Tenant, analytics: Target
) -> None:
    """A row above the floor but gone from the system of record (written by a load cut
    short, say) is read until the next load: that load writes above it, and rows it did not
    write again fall below its floor."""
    people = [Person("kept@x.io", {"Age": 1.0})]
    assert _selects(db, tenant, analytics, people, _all(field_leaf("Age", "is_set"))) == {
        "kept@x.io"
    }
    current = current_load(analytics, tenant.id)
    ghost = {"tenant_id": tenant.id, "list_id": 1, "member_id": 999, "email_key": "ghost@x.io",
             "domain": "x.io", "created_at": 0, "updated_at": 0, "n1": 1.0,
             "version": current + 1, "deleted": 0}  # fmt: skip
    analytics.engine.insert(
        f"{analytics.database}.members", list(ghost), [[value] for value in ghost.values()]
    )
    assert counts(analytics, tenant.id)["members"] == 2
    assert _selects(db, tenant, analytics, people, _all(field_leaf("Age", "is_set"))) == {
        "kept@x.io"
    }  # _selects loads again first
    assert counts(analytics, tenant.id)["members"] == 1
    assert current_load(analytics, tenant.id) > current + 1


def test_every_leaf_kind_compiles_for_clickhouse() -> None:
    """A condition type is registered once per back-end: the ClickHouse table has each."""
    assert set(CH_COMPILERS) == set(BY_KIND)


def test_tables_of_the_first_layout_are_replaced(
    db: Database, tenant: Tenant, analytics: Target
) -> None:
    """A copy written by the load-id layout (before versions) is dropped and loaded again."""
    analytics.engine.execute(f"CREATE DATABASE IF NOT EXISTS {analytics.database}")
    analytics.engine.execute(
        f"CREATE TABLE {analytics.database}.members (tenant_id UInt64, load_id UInt64, "
        "member_id UInt64) ENGINE = MergeTree ORDER BY (tenant_id, member_id)"
    )
    people = [Person("kept@x.io", {"Age": 1.0})]
    assert _selects(db, tenant, analytics, people, _all(field_leaf("Age", "is_set"))) == {
        "kept@x.io"
    }
    assert counts(analytics, tenant.id)["members"] == 1
