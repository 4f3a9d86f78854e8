"""The native form: groups at any depth, negation, limits with the path of the faulty node,
and a round trip through the stored form."""

from __future__ import annotations

from datetime import UTC, date
from typing import Any

import pytest

from segmentd.domain.conditions import MAX_DEPTH, MAX_ITEMS, MAX_LEAVES, Group, Not, depth
from segmentd.domain.contact import Contact
from segmentd.domain.errors import DomainValidationError
from segmentd.domain.evaluator import evaluate
from segmentd.domain.fields import Catalog, FieldDef, FieldType
from segmentd.domain.native_form import parse_native, render_native
from segmentd.domain.operators import Relation
from segmentd.domain.stored_form import dump_condition, load_condition
from segmentd.domain.validation import NATIVE_FIELD_NAME, flat_condition

CATALOG = Catalog.build([FieldDef("Age", FieldType.NUMBER, slot=0, id=4)], tags={7: "vip"})
TODAY = date(2026, 12, 6)
AGE = {"kind": "field", "field": "age", "op": ">=", "value": "18"}
VIP = {"kind": "tag", "tag": "vip", "op": "=="}


def parse(raw: Any) -> Group:
    return parse_native(raw, CATALOG, UTC, today=TODAY)


def test_a_tree_with_not_round_trips_through_the_stored_form() -> None:
    raw = {"any": [AGE, {"not": {"all": [VIP, AGE]}}]}
    tree = parse(raw)
    stored = dump_condition(tree)
    assert stored["items"][1] == {"not": {"relation": "and", "items": [
        {"kind": "tag", "tag": 7, "op": "=="},
        {"kind": "field", "field": "custom:4", "op": ">=", "value": "18"},
    ]}}  # fmt: skip
    assert load_condition(stored, CATALOG, UTC, today=TODAY) == tree
    assert render_native(stored, CATALOG) == {
        "any": [{**AGE, "field": "Age"}, {"not": {"all": [VIP, {**AGE, "field": "Age"}]}}]
    }


def test_not_negates() -> None:
    tree = parse({"not": VIP})
    assert tree == Group(Relation.AND, (Not(parse(VIP).items[0]),))
    assert evaluate(tree, Contact({"age": 20.0}, frozenset()))
    assert not evaluate(tree, Contact({"age": 20.0}, frozenset({"vip"})))


def nested(levels: int) -> dict[str, Any]:
    node: dict[str, Any] = VIP
    for _ in range(levels):
        node = {"all": [node]}
    return node


def test_depth_is_limited_and_the_error_names_the_node() -> None:
    assert depth(parse(nested(MAX_DEPTH))) == MAX_DEPTH
    with pytest.raises(DomainValidationError) as caught:
        parse(nested(MAX_DEPTH + 1))
    assert caught.value.path == "condition" + ".all[0]" * MAX_DEPTH


def test_leaves_and_items_are_limited() -> None:
    groups = [{"all": [VIP] * 10} for _ in range(MAX_LEAVES // 10)]
    parse({"any": groups})
    with pytest.raises(DomainValidationError, match=f"at most {MAX_LEAVES} leaves"):
        parse({"any": [*groups, VIP]})
    with pytest.raises(DomainValidationError) as caught:
        parse({"all": [VIP] * (MAX_ITEMS + 1)})
    assert caught.value.path == "condition.all"


@pytest.mark.parametrize(
    ("raw", "path"),
    [
        ([], "condition"),
        ({"all": [VIP], "any": [VIP]}, "condition"),
        ({"all": []}, "condition.all"),
        ({"any": [VIP, {"kind": "nope"}]}, "condition.any[1].kind"),
        ({"not": {"kind": "tag", "tag": "gone", "op": "=="}}, "condition.not.tag"),
        ({"all": [{**AGE, "value": "old"}]}, "condition.all[0].value"),
    ],
)
def test_faults_name_their_node(raw: Any, path: str) -> None:
    with pytest.raises(DomainValidationError) as caught:
        parse(raw)
    assert caught.value.path == path


def test_the_flat_form_shows_what_it_cannot_say_as_a_native_item() -> None:
    stored = dump_condition(parse({"all": [AGE, {"not": VIP}]}))
    flat = flat_condition(stored, CATALOG)
    assert flat["items"][1] == {
        "campaign_id": None,
        "field_name": NATIVE_FIELD_NAME,
        "op": "==",
        "value": '{"not":{"kind":"tag","tag":"vip","op":"=="}}',
    }
