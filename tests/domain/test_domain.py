"""The pure domain core: value parsing, the operator registry, validation and evaluation."""

from __future__ import annotations

import json
from datetime import timedelta, timezone
from typing import Any

import pytest

from segmentd.domain.contact import CampaignActivity, Contact
from segmentd.domain.emails import email_problem
from segmentd.domain.errors import DomainValidationError
from segmentd.domain.evaluator import evaluate
from segmentd.domain.fields import CampaignStatus, Catalog, FieldDef, FieldType
from segmentd.domain.operators import OPERATORS, Op
from segmentd.domain.stored_form import dump_condition, load_condition
from segmentd.domain.validation import SegmentType, flat_condition, parse_condition
from segmentd.domain.values import format_field_value, parse_field_value

TZ = timezone(timedelta(hours=8))
AGE = FieldDef("Age", FieldType.NUMBER, format=".0", slot=1, id=11)
CITY = FieldDef("City", FieldType.TEXT, slot=2, id=12)
PLAN = FieldDef("Plan", FieldType.DROPDOWN, options=("Free", "Pro"), slot=3, id=13)
SIGNUP = FieldDef("Signup", FieldType.DATE, format="DD/MM/YYYY", slot=4, id=14)
BIRTHDAY = FieldDef("Birthday", FieldType.BIRTHDAY, format="MM/DD", slot=5, id=15)
CATALOG = Catalog.build(
    [AGE, CITY, PLAN, SIGNUP, BIRTHDAY],
    tags={3: "vip"},
    campaigns={7: CampaignStatus.COMPLETED, 8: CampaignStatus.DRAFT, 9: CampaignStatus.SENDING},
)


def cond(*items: dict[str, Any], relation: str = "and") -> dict[str, Any]:
    return {"relation": relation, "items": list(items)}


def item(field: str, op: str, value: str, **extra: Any) -> dict[str, Any]:
    return {"field_name": field, "op": op, "value": value, **extra}


def parse(raw: Any, segment_type: SegmentType = SegmentType.BY_FIELD) -> Any:
    return parse_condition(raw, CATALOG, segment_type, TZ)


def matches(
    raw: dict[str, Any], contact: Contact, segment_type: SegmentType = SegmentType.BY_FIELD
) -> bool:
    return evaluate(parse(raw, segment_type), contact)


# --- values -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("field", "text", "typed", "shown"),
    [
        (AGE, "12", 12.0, "12.0"),
        (AGE, "-3.25", -3.25, "-3.2"),
        (SIGNUP, "31/12/2023", 19722, "31/12/2023"),
        (
            FieldDef("D", FieldType.DATE, format="MM/DD/YYYY", slot=9),
            "12/31/2023",
            19722,
            "12/31/2023",
        ),
        (BIRTHDAY, "02/29", 229, "02/29"),
        (FieldDef("B", FieldType.BIRTHDAY, format="DD/MM", slot=9), "30/03", 330, "30/03"),
        (PLAN, "Pro", "Pro", "Pro"),
        (CITY, "Paris", "Paris", "Paris"),
    ],
)
def test_values_round_trip(field: FieldDef, text: str, typed: Any, shown: str) -> None:
    assert parse_field_value(field, text) == typed
    assert format_field_value(field, typed) == shown


@pytest.mark.parametrize(
    ("field", "text"),
    [
        (AGE, "abc"),
        (AGE, "nan"),
        (AGE, "inf"),
        (AGE, ""),
        (SIGNUP, "12/31/2023"),
        (SIGNUP, "2023-12-31"),
        (BIRTHDAY, "02/30"),
        (BIRTHDAY, "13/01"),
        (PLAN, "pro"),
    ],
)
def test_bad_values_are_refused(field: FieldDef, text: str) -> None:
    with pytest.raises(ValueError):
        parse_field_value(field, text)


@pytest.mark.parametrize(
    ("email", "ok"),
    [
        ("a@b.co", True),
        ("paulchen0518@yahoo.com.tw", True),
        ("a@b.c", False),  # top-level domain of one letter
        ("ab@-x.com", False),
        ("ab@x-.com", False),
        ("ab@x.c0m", False),
        ("nodomain", False),
        ("a" * 97 + "@x.com", False),
        ("x@" + "a" * 64 + ".com", False),
        ("x@" + "a" * 63 + ".com", True),
        ("a@b.abcdefghijklmnopqrstu", False),  # 21-letter top-level domain
    ],
)
def test_email_rules(email: str, ok: bool) -> None:
    assert (email_problem(email) is None) is ok


# --- the operator registry ----------------------------------------------------------------


def test_operator_registry_matches_the_field_types() -> None:
    assert OPERATORS[FieldType.TEXT] == (Op.EQ, Op.NE, Op.CONTAIN, Op.NOT_CONTAIN)
    assert OPERATORS[FieldType.DROPDOWN] == (Op.EQ, Op.NE)
    for ordered in (FieldType.NUMBER, FieldType.DATE, FieldType.BIRTHDAY, FieldType.TIMESTAMP):
        assert Op.CONTAIN not in OPERATORS[ordered] and Op.GE in OPERATORS[ordered]


# --- validation ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "segment_type", "path", "fragment"),
    [
        (None, SegmentType.BY_FIELD, "condition", "object"),
        (
            cond(item("Age", ">", "1"), relation="xor"),
            SegmentType.BY_FIELD,
            "condition.relation",
            "and or or",
        ),
        ({"relation": "and", "items": []}, SegmentType.BY_FIELD, "condition.items", "1 to 10"),
        (cond(*[item("Age", ">", "1")] * 11), SegmentType.BY_FIELD, "condition.items", "1 to 10"),
        (
            cond(item("Nope", "==", "1")),
            SegmentType.BY_FIELD,
            "condition.items[0].field_name",
            "does not exist",
        ),
        (
            cond(item("Age", "contain", "1")),
            SegmentType.BY_FIELD,
            "condition.items[0].op",
            "must be one of",
        ),
        (
            cond(item("Age", "~", "1")),
            SegmentType.BY_FIELD,
            "condition.items[0].op",
            "must be one of",
        ),
        (
            cond(item("Age", ">", "old")),
            SegmentType.BY_FIELD,
            "condition.items[0].value",
            "not a number",
        ),
        (cond(item("Age", ">", 5)), SegmentType.BY_FIELD, "condition.items[0].value", "string"),
        (
            cond(item("Plan", ">", "Pro")),
            SegmentType.BY_FIELD,
            "condition.items[0].op",
            "must be one of",
        ),
        (
            cond(item("Plan", "==", "Gold")),
            SegmentType.BY_FIELD,
            "condition.items[0].value",
            "options",
        ),
        (
            cond(item("Signup", "==", "2023-01-01")),
            SegmentType.BY_FIELD,
            "condition.items[0].value",
            "DD/MM/YYYY",
        ),
        (
            cond(item("CreateTime", ">", "01/01/2023")),
            SegmentType.BY_FIELD,
            "condition.items[0].value",
            "YYYY-MM-DD",
        ),
        (cond(item("tag", "contain", "vip")), SegmentType.BY_FIELD, "condition.items[0].op", "tag"),
        (
            cond(item("tag", "==", "gold")),
            SegmentType.BY_FIELD,
            "condition.items[0].value",
            "does not exist",
        ),
        (
            cond(item("campaign", "==", "open", campaign_id=7)),
            SegmentType.BY_FIELD,
            "condition.items[0].field_name",
            "type 1",
        ),
        (
            cond(item("Age", ">", "1")),
            SegmentType.BY_CAMPAIGN,
            "condition.items[0].field_name",
            "campaign",
        ),
        (
            cond(item("campaign", "!=", "open", campaign_id=7)),
            SegmentType.BY_CAMPAIGN,
            "condition.items[0].op",
            "==",
        ),
        (
            cond(item("campaign", "==", "read", campaign_id=7)),
            SegmentType.BY_CAMPAIGN,
            "condition.items[0].value",
            "sent, open, click, unopen, unclick, notsent",
        ),
        (
            cond(item("campaign", "==", "open")),
            SegmentType.BY_CAMPAIGN,
            "condition.items[0].campaign_id",
            "required",
        ),
        (
            cond(item("campaign", "==", "open", campaign_id=99)),
            SegmentType.BY_CAMPAIGN,
            "condition.items[0].campaign_id",
            "does not exist",
        ),
        (
            cond(item("campaign", "==", "open", campaign_id=8)),
            SegmentType.BY_CAMPAIGN,
            "condition.items[0].campaign_id",
            "sending or completed",
        ),
    ],
)
def test_validation_rules(raw: Any, segment_type: SegmentType, path: str, fragment: str) -> None:
    with pytest.raises(DomainValidationError) as caught:
        parse(raw, segment_type)
    assert caught.value.path == path
    assert fragment in caught.value.message
    assert str(caught.value).startswith(f"[{path}]:")


def test_field_names_resolve_case_insensitively_and_the_flat_form_reads_back_canonical() -> None:
    parsed = parse(cond(item("age", ">=", "13"), item("tag", "==", "vip")))
    assert flat_condition(dump_condition(parsed), CATALOG) == {
        "relation": "and",
        "items": [
            {"campaign_id": None, "field_name": "Age", "op": ">=", "value": "13"},
            {"campaign_id": None, "field_name": "tag", "op": "==", "value": "vip"},
        ],
    }


def test_the_stored_form_names_fields_and_tags_by_key_and_id() -> None:
    raw = cond(item("age", ">=", "13"), item("Email", "contain", "@x"), item("tag", "!=", "vip"))
    assert dump_condition(parse(raw)) == {
        "version": 1,
        "relation": "and",
        "items": [
            {"kind": "field", "field": "custom:11", "op": ">=", "value": "13"},
            {"kind": "field", "field": "system:email", "op": "contain", "value": "@x"},
            {"kind": "tag", "tag": 3, "op": "!="},
        ],
    }
    campaign = parse(cond(item("campaign", "==", "open", campaign_id=7)), SegmentType.BY_CAMPAIGN)
    assert dump_condition(campaign)["items"] == [
        {"kind": "campaign", "campaign": 7, "activity": "open"}
    ]


def test_a_rename_keeps_the_stored_form_and_reads_back_under_the_new_name() -> None:
    stored = dump_condition(parse(cond(item("Age", ">", "1"), item("tag", "==", "vip"))))
    renamed = Catalog.build(
        [FieldDef("Years", FieldType.NUMBER, format=".0", slot=1, id=11)], tags={3: "gold"}
    )
    assert flat_condition(stored, renamed)["items"] == [
        {"campaign_id": None, "field_name": "Years", "op": ">", "value": "1"},
        {"campaign_id": None, "field_name": "tag", "op": "==", "value": "gold"},
    ]
    member = Contact({"years": 2.0}, tags=frozenset({"gold"}))
    assert evaluate(load_condition(stored, renamed, TZ), member)


def test_the_flat_form_has_no_nesting_and_the_stored_form_has() -> None:
    nested = cond(cond(item("Age", ">", "1")), item("City", "==", "x"), relation="or")
    with pytest.raises(DomainValidationError) as caught:
        parse(nested)
    assert caught.value.path == "condition.items[0].field_name"
    inner = dump_condition(parse(cond(item("Age", ">", "1"))))
    stored = {**dump_condition(parse(cond(item("City", "==", "x")))), "relation": "or"}
    stored["items"] = [{"relation": "and", "items": inner["items"]}, *stored["items"]]
    loaded = load_condition(stored, CATALOG, TZ)
    assert dump_condition(loaded) == stored
    assert evaluate(loaded, contact(Age=2.0)) and not evaluate(loaded, contact(Age=0.0))


# --- evaluation semantics -----------------------------------------------------------------


def contact(**values: Any) -> Contact:
    return Contact({k.casefold(): v for k, v in values.items()})


@pytest.mark.parametrize(
    ("raw_item", "values", "expected"),
    [
        (item("City", "contain", "PAR"), {"City": "Paris"}, True),  # contain ignores case
        (item("City", "==", "paris"), {"City": "PARIS"}, True),
        (item("City", "==", "paris"), {"City": "Pâris"}, False),
        (item("City", "!=", "Paris"), {}, True),  # a missing value is "not Paris"
        (item("City", "does not contain", "a"), {}, True),
        (item("City", "==", "Paris"), {}, False),
        (item("City", "contain", ""), {"City": ""}, True),
        (item("Age", ">=", "20"), {"Age": 20.0}, True),
        (item("Age", ">", "20"), {"Age": 20.0}, False),
        (item("Age", "<", "20"), {}, False),
        (item("Plan", "==", "Pro"), {"Plan": "Pro"}, True),
        (item("Signup", "<", "01/02/2024"), {"Signup": 19753}, True),  # 2024-01-31
        (item("Birthday", ">", "03/15"), {"Birthday": 704}, True),
    ],
)
def test_field_semantics(raw_item: dict[str, Any], values: dict[str, Any], expected: bool) -> None:
    assert matches(cond(raw_item), contact(**values)) is expected


def test_system_times_compare_by_whole_day_in_the_configured_zone() -> None:
    midnight = 1704038400  # 2024-01-01 00:00 at UTC+8
    same_day = contact(CreateTime=midnight + 23 * 3600)
    next_day = contact(CreateTime=midnight + 24 * 3600)
    on_day = cond(item("CreateTime", "==", "2024-01-01"))
    after = cond(item("CreateTime", ">", "2024-01-01"))
    assert matches(on_day, same_day) and not matches(on_day, next_day)
    assert matches(after, next_day) and not matches(after, same_day)


def test_tags() -> None:
    tagged = Contact({}, tags=frozenset({"vip"}))
    assert matches(cond(item("tag", "==", "vip")), tagged)
    assert not matches(cond(item("tag", "!=", "vip")), tagged)
    assert matches(cond(item("tag", "!=", "vip")), Contact({}))


@pytest.mark.parametrize(
    ("activity", "true_values"),
    [
        (None, {"notsent"}),
        (CampaignActivity(sent_at=100), {"sent", "unopen", "unclick"}),
        (CampaignActivity(sent_at=100, opened_at=200), {"sent", "open", "unclick"}),
        (CampaignActivity(100, 200, 300), {"sent", "open", "click"}),
    ],
)
def test_campaign_activity(activity: CampaignActivity | None, true_values: set[str]) -> None:
    member = Contact({}, campaigns={7: activity} if activity else {})
    for value in ("sent", "open", "click", "unopen", "unclick", "notsent"):
        raw = cond(item("campaign", "==", value, campaign_id=7))
        assert matches(raw, member, SegmentType.BY_CAMPAIGN) is (value in true_values), value


def test_relations() -> None:
    paris_20 = contact(City="Paris", Age=20.0)
    assert matches(
        cond(item("City", "==", "Paris"), item("Age", ">", "30"), relation="or"), paris_20
    )
    assert not matches(cond(item("City", "==", "Paris"), item("Age", ">", "30")), paris_20)


def test_nesting_depth_is_bounded() -> None:
    raw: dict[str, Any] = dump_condition(parse(cond(item("Age", ">", "1"))))
    for _ in range(10):
        raw = cond(raw)
    with pytest.raises(DomainValidationError) as caught:
        load_condition({"version": 1, **raw}, CATALOG, TZ)
    assert "nest at most" in caught.value.message


def test_nul_characters_are_refused_before_reaching_a_database() -> None:
    with pytest.raises(DomainValidationError) as caught:
        parse(cond(item("City", "contain", "a\x00")))
    assert caught.value.path == "condition.items[0].value"


def test_a_stored_condition_keeps_working_after_its_campaign_is_cancelled() -> None:
    raw = cond(item("campaign", "==", "open", campaign_id=7))
    cancelled = Catalog.build(campaigns={7: CampaignStatus.CANCELLED})
    with pytest.raises(DomainValidationError):
        parse_condition(raw, cancelled, SegmentType.BY_CAMPAIGN, TZ)
    stored = json.dumps(dump_condition(parse(raw, SegmentType.BY_CAMPAIGN)))
    assert load_condition(stored, cancelled, TZ)
    with pytest.raises(DomainValidationError):
        load_condition(stored, Catalog.build(), TZ)
