"""Fuzzing the condition parsers (the flat form clients send, the stored form): any JSON either
parses or fails with DomainValidationError."""

from __future__ import annotations

from datetime import date, timedelta, timezone
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from segmentd.domain.errors import DomainValidationError
from segmentd.domain.fields import CampaignStatus, Catalog, FieldDef, FieldType
from segmentd.domain.native_form import parse_native
from segmentd.domain.operators import NativeOp
from segmentd.domain.stored_form import dump_condition, load_condition
from segmentd.domain.validation import SegmentType, parse_condition

CATALOG = Catalog.build(
    [
        FieldDef("Age", FieldType.NUMBER, slot=1, id=1),
        FieldDef("Plan", FieldType.DROPDOWN, options=("a",), slot=2, id=2),
        FieldDef("D", FieldType.DATE, format="DD/MM/YYYY", slot=3, id=3),
        FieldDef("B", FieldType.BIRTHDAY, slot=4, id=4),
    ],
    tags={1: "vip"},
    campaigns={1: CampaignStatus.SENDING},
)
TZ = timezone(timedelta(hours=8))

scalars = st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=12)
json_values = st.recursive(
    scalars,
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=8), children, max_size=4)
    ),
    max_leaves=12,
)
field_names = st.sampled_from(
    ["Age", "age", "Plan", "D", "B", "Email", "CreateTime", "tag", "campaign", "nope", ""]
)
ops = st.sampled_from(["==", "!=", ">", ">=", "<", "<=", "contain", "does not contain", "~", ""])
plausible_items = st.fixed_dictionaries(
    {
        "field_name": field_names | json_values,
        "op": ops | json_values,
        "value": st.text(max_size=12) | json_values,
    },
    optional={"campaign_id": st.integers(-2, 3) | json_values},
)
plausible = st.fixed_dictionaries(
    {
        "relation": st.sampled_from(["and", "or", "AND", ""]) | json_values,
        "items": st.lists(plausible_items | json_values, max_size=12) | json_values,
    }
)


stored_leaves = st.fixed_dictionaries(
    {"kind": st.sampled_from(["field", "tag", "campaign", "group", ""]) | json_values},
    optional={
        "field": st.sampled_from(["custom:1", "custom:2", "custom:x", "system:email", "x"])
        | json_values,
        "tag": st.integers(0, 2) | json_values,
        "campaign": st.integers(0, 2) | json_values,
        "activity": st.sampled_from(["open", "nope"]) | json_values,
        "op": ops | json_values,
        "value": st.text(max_size=12) | json_values,
    },
)
stored_groups = st.recursive(
    st.fixed_dictionaries(
        {"relation": st.sampled_from(["and", "or", ""]), "items": st.lists(stored_leaves)}
    ),
    lambda groups: st.fixed_dictionaries(
        {"relation": st.sampled_from(["and", "or"]), "items": st.lists(groups | stored_leaves)}
    ),
    max_leaves=8,
)


@settings(max_examples=400, deadline=None)
@given(raw=json_values | plausible, segment_type=st.sampled_from(SegmentType))
def test_parser_never_fails_otherwise(raw: Any, segment_type: SegmentType) -> None:
    try:
        parse_condition(raw, CATALOG, segment_type, TZ)
    except DomainValidationError as error:
        assert error.message
        assert str(error).startswith("[condition")


@settings(max_examples=300, deadline=None)
@given(raw=json_values | stored_groups.map(lambda group: {"version": 1, **group}))
def test_stored_form_loader_never_fails_otherwise(raw: Any) -> None:
    try:
        load_condition(raw, CATALOG, TZ)
    except DomainValidationError as error:
        assert error.message
        assert str(error).startswith("[condition")


native_ops = st.sampled_from(
    [*(str(op) for op in NativeOp), "==", ">=", "contain", "any_of", "all_of", "none_of", "~"]
)
native_leaves = st.fixed_dictionaries(
    {"kind": st.sampled_from(["field", "tag", "tags", "campaign", "subscription", ""])},
    optional={
        "field": st.sampled_from(["Age", "plan", "D", "B", "Email", "CreateTime", "x"])
        | json_values,
        "op": native_ops | json_values,
        "value": st.text(max_size=12) | json_values,
        "values": st.lists(st.text(max_size=12) | json_values, max_size=3) | json_values,
        "amount": st.integers(-2, 4000) | json_values,
        "unit": st.sampled_from(["days", "weeks", "months", "years"]) | json_values,
        "tag": st.sampled_from(["vip", "x"]) | json_values,
        "tags": st.lists(st.sampled_from(["vip", "x"]) | json_values, max_size=3) | json_values,
        "status": st.sampled_from(["subscribed", "x"]) | json_values,
        "campaign": st.integers(0, 2) | json_values,
        "activity": st.sampled_from(["open", "nope"]) | json_values,
    },
)
native_trees = st.recursive(
    native_leaves,
    lambda nodes: st.one_of(
        st.dictionaries(st.sampled_from(["all", "any"]), st.lists(nodes, max_size=3), max_size=2),
        st.builds(lambda node: {"not": node}, nodes),
    ),
    max_leaves=8,
)


@settings(max_examples=400, deadline=None)
@given(raw=json_values | native_trees, today=st.dates(date(1900, 1, 1), date(2200, 12, 31)))
def test_native_parser_never_fails_otherwise(raw: Any, today: date) -> None:
    """Any JSON, on any day, either parses to a tree that stores and loads back the same, or
    fails with DomainValidationError."""
    try:
        tree = parse_native(raw, CATALOG, TZ, today=today)
    except DomainValidationError as error:
        assert error.message
        assert str(error).startswith("[condition")
        return
    assert load_condition(dump_condition(tree), CATALOG, TZ, today=today) == tree
