"""The SQL compiler and the in-memory evaluator select the same members, on both databases.

Hypothesis generates members (field values, tags, campaign activity) and conditions (nested
and/or groups of every leaf type); the members the compiled SQL selects must be exactly
those the evaluator accepts, both on the generated contacts and on contacts loaded back.
Each condition goes through its stored form and back; a flat one (as clients send) also
through the flat form: parse, store, load and render give back what they were given.
"""

from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone
from typing import Any

import sqlalchemy as sa
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from segmentd.domain.conditions import Condition, Group
from segmentd.domain.contact import CampaignActivity
from segmentd.domain.evaluator import evaluate
from segmentd.domain.fields import Catalog
from segmentd.domain.operators import Relation
from segmentd.domain.stored_form import dump_condition, load_condition
from segmentd.domain.validation import SegmentType, flat_condition, parse_condition
from segmentd.storage import schema
from segmentd.storage.compiler import compile_condition
from segmentd.storage.contacts import load_contacts
from segmentd.storage.db import Database
from tests.conftest import Tenant
from tests.support.condition_members import (
    CAMPAIGNS,
    CUSTOM,
    TAGS,
    Member,
    campaign_offset,
    store_members,
)

TZ = timezone(timedelta(hours=8))
DAY0 = datetime(2024, 3, 1, tzinfo=TZ)
TAG_IDS = {number: name for number, name in enumerate(TAGS, start=1)}
CATALOG = Catalog.build(CUSTOM, TAG_IDS, CAMPAIGNS)

# Case, accents, LIKE wildcards and the empty string: where SQL and Python could part ways.
text = st.text(alphabet="aAbBéÉßİ%_ .@-", max_size=6)
numbers = st.sampled_from([-2.5, -1.0, 0.0, 0.5, 1.0, 20.0, 20.25, 45.0, 1e6])
days = st.integers(min_value=19_700, max_value=19_705)  # around 2024-01-09
birthdays = st.sampled_from([101, 229, 315, 704, 1231])
moments = st.integers(min_value=-36, max_value=72).map(
    lambda hours: int((DAY0 + timedelta(hours=hours)).timestamp())
)
activities = st.sampled_from(
    [
        None,
        CampaignActivity(sent_at=int(DAY0.timestamp())),
        CampaignActivity(sent_at=int(DAY0.timestamp()), opened_at=int(DAY0.timestamp())),
        CampaignActivity(*[int(DAY0.timestamp())] * 3),
    ]
)


@st.composite
def members_strategy(draw: st.DrawFn, index: int) -> Member:
    local = draw(st.text(alphabet="abAB", min_size=1, max_size=3))
    domain = draw(st.sampled_from(["Example.com", "test.org", "ex-ample.fr"]))
    values = {
        "Age": draw(st.none() | numbers),
        "City": draw(st.none() | text),
        "Plan": draw(st.none() | st.sampled_from(["Free", "Pro", "pro"])),
        "Signup": draw(st.none() | days),
        "Birthday": draw(st.none() | birthdays),
    }
    campaigns = {}
    for campaign_id in CAMPAIGNS:
        activity = draw(activities)
        if activity is not None:
            campaigns[campaign_id] = activity
    return Member(
        email=f"{local}{index}@{domain}",
        name=draw(st.none() | text),
        values=values,
        created_at=(created := draw(moments)),
        updated_at=created,
        unsubscribed_at=draw(st.none() | moments),
        tags=frozenset(draw(st.sets(st.sampled_from(TAGS)))),
        campaigns=campaigns,
    )


def _date_text(day_number: int) -> str:
    day = datetime(1970, 1, 1) + timedelta(days=day_number)
    return f"{day.day:02d}/{day.month:02d}/{day.year}"


def _field_leaf(draw: st.DrawFn) -> dict[str, str]:
    field = draw(
        st.sampled_from(
            [
                "Age",
                "City",
                "Plan",
                "Signup",
                "Birthday",
                "Email",
                "Name",
                "Domain",
                "CreateTime",
                "UnsubscribeTime",
                "tag",
            ]
        )
    )
    ordering = ["==", "!=", ">", ">=", "<", "<="]
    textual = ["==", "!=", "contain", "does not contain"]
    if field == "Age":
        op, value = draw(st.sampled_from(ordering)), str(draw(numbers))
    elif field == "Signup":
        op, value = draw(st.sampled_from(ordering)), _date_text(draw(days))
    elif field == "Birthday":
        month_day = draw(birthdays)
        op, value = draw(st.sampled_from(ordering)), f"{month_day // 100:02d}/{month_day % 100:02d}"
    elif field in ("CreateTime", "UnsubscribeTime"):
        day = (DAY0 + timedelta(days=draw(st.integers(-2, 3)))).strftime("%Y-%m-%d")
        op, value = draw(st.sampled_from(ordering)), day
    elif field == "Plan":
        op, value = (
            draw(st.sampled_from(["==", "!="])),
            draw(st.sampled_from(["Free", "Pro", "pro"])),
        )
    elif field == "tag":
        op, value = draw(st.sampled_from(["==", "!="])), draw(st.sampled_from(TAGS))
    else:
        op, value = draw(st.sampled_from(textual)), draw(text)
    return {"field_name": field, "op": op, "value": value}


@st.composite
def field_groups(draw: st.DrawFn, depth: int = 0) -> dict[str, Any]:
    size = draw(st.integers(1, 3))
    items: list[Any] = []
    for _ in range(size):
        if depth < 2 and draw(st.booleans()) and draw(st.booleans()):
            items.append(draw(field_groups(depth + 1)))
        else:
            items.append(_field_leaf(draw))
    return {"relation": draw(st.sampled_from(["and", "or"])), "items": items}


campaign_groups = st.builds(
    lambda relation, items: {"relation": relation, "items": items},
    st.sampled_from(["and", "or"]),
    st.lists(
        st.builds(
            lambda campaign_id, value: {
                "field_name": "campaign",
                "op": "==",
                "value": value,
                "campaign_id": campaign_id,
            },
            st.sampled_from(list(CAMPAIGNS)),
            st.sampled_from(["sent", "open", "click", "unopen", "unclick", "notsent"]),
        ),
        min_size=1,
        max_size=3,
    ),
)


def _catalog_for(tenant: Tenant) -> Catalog:
    campaigns = {cid + campaign_offset(tenant): status for cid, status in CAMPAIGNS.items()}
    return Catalog.build(CUSTOM, TAG_IDS, campaigns)


def _shift_campaigns(raw: dict[str, Any], tenant: Tenant) -> dict[str, Any]:
    items = [
        {**item, "campaign_id": item["campaign_id"] + campaign_offset(tenant)}
        for item in raw["items"]
    ]
    return {**raw, "items": items}


def _tree(raw: dict[str, Any], catalog: Catalog, segment_type: SegmentType) -> Group:
    """The tree of a generated condition: nested groups of flat leaves, each parsed alone."""

    def item(raw_item: dict[str, Any]) -> Condition:
        if "items" in raw_item:
            return _tree(raw_item, catalog, segment_type)
        one = {"relation": "and", "items": [raw_item]}
        return parse_condition(one, catalog, segment_type, TZ).items[0]

    return Group(Relation(raw["relation"]), tuple(item(i) for i in raw["items"]))


def _through_stored_form(
    raw: dict[str, Any], catalog: Catalog, segment_type: SegmentType
) -> Condition:
    """The condition as a build reads it: stored as JSON, loaded back (the same tree)."""
    tree = _tree(raw, catalog, segment_type)
    stored = dump_condition(tree)
    loaded = load_condition(json.dumps(stored), catalog, TZ)
    assert loaded == tree
    assert dump_condition(loaded) == stored
    return loaded


def _check(
    db: Database,
    tenant: Tenant,
    members: list[Member],
    raw: dict[str, Any],
    segment_type: SegmentType,
) -> None:
    ids = store_members(db, tenant, members, int(DAY0.timestamp()))
    catalog = _catalog_for(tenant)
    if segment_type is SegmentType.BY_CAMPAIGN:
        raw = _shift_campaigns(raw, tenant)
    condition = _through_stored_form(raw, catalog, segment_type)
    with db.read() as conn:
        selected = set(
            conn.execute(
                sa.select(schema.members.c.id).where(
                    schema.members.c.tenant_id == tenant.id, compile_condition(condition)
                )
            ).scalars()
        )
        loaded = load_contacts(conn, tenant.id, ids.values(), catalog)
    shifted = {m.email: m.contact(campaign_offset(tenant)) for m in members}
    expected = {ids[email] for email, contact in shifted.items() if evaluate(condition, contact)}
    assert selected == expected, (raw, [m for m in members])
    reloaded = {mid for mid, contact in loaded.items() if evaluate(condition, contact)}
    assert reloaded == expected


member_lists = st.integers(0, 6).flatmap(
    lambda n: st.tuples(*(members_strategy(i) for i in range(n))).map(list)
)
SETTINGS = settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)


def _leaf_count(raw: dict[str, Any]) -> int:
    return sum(_leaf_count(i) if "items" in i else 1 for i in raw["items"])


@SETTINGS
@given(members=member_lists, raw=field_groups().filter(lambda raw: _leaf_count(raw) <= 10))
def test_field_conditions_agree(
    db: Database, tenant: Tenant, members: list[Member], raw: dict[str, Any]
) -> None:
    _check(db, tenant, members, raw, SegmentType.BY_FIELD)


@SETTINGS
@given(members=member_lists, raw=campaign_groups)
def test_campaign_conditions_agree(
    db: Database, tenant: Tenant, members: list[Member], raw: dict[str, Any]
) -> None:
    _check(db, tenant, members, raw, SegmentType.BY_CAMPAIGN)


flat_groups = field_groups(depth=2)  # no nested group: the flat form has none


@settings(max_examples=200, deadline=None)
@given(raw=flat_groups | campaign_groups)
def test_the_flat_and_stored_forms_round_trip(raw: dict[str, Any]) -> None:
    """parse(flat) -> stored -> load gives the same tree, and stored -> flat -> parse gives
    the same stored form, for every leaf type."""
    campaign = raw["items"][0]["field_name"] == "campaign"
    segment_type = SegmentType.BY_CAMPAIGN if campaign else SegmentType.BY_FIELD
    tree = parse_condition(raw, CATALOG, segment_type, TZ)
    stored = dump_condition(tree)
    assert load_condition(json.dumps(stored), CATALOG, TZ) == tree
    flat = flat_condition(stored, CATALOG)
    assert dump_condition(parse_condition(flat, CATALOG, segment_type, TZ)) == stored
    assert (
        flat_condition(dump_condition(parse_condition(flat, CATALOG, segment_type, TZ)), CATALOG)
        == flat
    )
