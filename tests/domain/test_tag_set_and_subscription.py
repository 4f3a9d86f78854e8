"""The tags kind (any_of, all_of, none_of a list of tags, stored by id, named in the native
form) and the subscription kind: what they hold for, their forms, their limits."""

from __future__ import annotations

from datetime import UTC, date
from typing import Any

import pytest

from segmentd.domain.condition_types.leaf_types import inputs, moves_with_time
from segmentd.domain.conditions import Inputs
from segmentd.domain.contact import Contact
from segmentd.domain.errors import DomainValidationError
from segmentd.domain.evaluator import evaluate
from segmentd.domain.fields import Catalog
from segmentd.domain.native_form import parse_native, render_native
from segmentd.domain.stored_form import dump_condition, load_condition
from segmentd.domain.validation import NATIVE_FIELD_NAME, flat_condition

CATALOG = Catalog.build(tags={3: "vip", 5: "news", 8: "VIP"})
TODAY = date(2025, 3, 31)


def parse(raw: Any) -> Any:
    return parse_native(raw, CATALOG, UTC, today=TODAY)


def tags(op: str, *names: Any) -> dict[str, Any]:
    return {"kind": "tags", "op": op, "tags": list(names)}


@pytest.mark.parametrize(
    ("op", "member_tags", "expected"),
    [
        ("any_of", set(), False),
        ("any_of", {"news"}, True),
        ("any_of", {"VIP"}, False),  # tag names are exact
        ("all_of", {"vip"}, False),
        ("all_of", {"vip", "news", "VIP"}, True),
        ("none_of", set(), True),
        ("none_of", {"news"}, False),
        ("none_of", {"VIP"}, True),
    ],
)
def test_tag_lists(op: str, member_tags: set[str], expected: bool) -> None:
    tree = parse({"all": [tags(op, "vip", "news")]})
    assert evaluate(tree, Contact({}, frozenset(member_tags))) is expected


def test_tags_are_stored_by_id_and_rendered_by_their_current_names() -> None:
    tree = parse({"all": [tags("all_of", "news", "vip")]})
    stored = dump_condition(tree)
    assert stored["items"] == [{"kind": "tags", "op": "all_of", "tags": [5, 3]}]
    assert load_condition(stored, CATALOG, UTC, today=TODAY) == tree
    renamed = Catalog.build(tags={3: "gold", 5: "news"})
    assert render_native(stored, renamed) == {"all": [tags("all_of", "news", "gold")]}
    assert flat_condition(stored, CATALOG)["items"][0]["field_name"] == NATIVE_FIELD_NAME
    assert inputs(tree) == Inputs(tags=True)
    assert not moves_with_time(tree)


@pytest.mark.parametrize(
    ("raw", "path", "message"),
    [
        (
            tags("some_of", "vip"),
            "condition.all[0].op",
            "op must be one of any_of, all_of, none_of",
        ),
        (tags("any_of"), "condition.all[0].tags", "tags must be a list of 1 to 50 tags"),
        ({"kind": "tags", "op": "any_of", "tags": "vip"}, "condition.all[0].tags", None),
        (tags("any_of", *["vip"] * 51), "condition.all[0].tags", None),
        (tags("any_of", "vip", "gone"), "condition.all[0].tags[1]", "tag gone does not exist"),
        (tags("any_of", "vip", 3), "condition.all[0].tags[1]", "tag 3 does not exist"),
        (
            tags("any_of", "vip", "news", "vip"),
            "condition.all[0].tags[2]",
            "tag vip is listed twice",
        ),
    ],
)
def test_tag_list_faults_name_their_node(raw: Any, path: str, message: str | None) -> None:
    with pytest.raises(DomainValidationError) as caught:
        parse({"all": [raw]})
    assert caught.value.path == path
    if message is not None:
        assert caught.value.message == message


def test_a_stored_tag_list_naming_a_deleted_tag_does_not_load() -> None:
    stored = {
        "version": 1,
        "relation": "and",
        "items": [{"kind": "tags", "op": "any_of", "tags": [3, 4]}],
    }
    with pytest.raises(DomainValidationError) as caught:
        load_condition(stored, CATALOG, UTC, today=TODAY)
    assert (caught.value.path, caught.value.message) == (
        "condition.items[0].tags[1]",
        "tag 4 does not exist",
    )


def test_subscription_status() -> None:
    subscribed = parse({"all": [{"kind": "subscription", "status": "subscribed"}]})
    unsubscribed = parse({"all": [{"kind": "subscription", "status": "unsubscribed"}]})
    still, gone = Contact({"unsubscribetime": None}), Contact({"unsubscribetime": 1_700_000_000})
    assert (evaluate(subscribed, still), evaluate(subscribed, gone)) == (True, False)
    assert (evaluate(unsubscribed, still), evaluate(unsubscribed, gone)) == (False, True)
    stored = dump_condition(unsubscribed)
    assert stored["items"] == [{"kind": "subscription", "status": "unsubscribed"}]
    assert render_native(stored, CATALOG) == {
        "all": [{"kind": "subscription", "status": "unsubscribed"}]
    }
    assert inputs(unsubscribed) == Inputs(fields=frozenset({"unsubscribetime"}))
    with pytest.raises(DomainValidationError) as caught:
        parse({"all": [{"kind": "subscription", "status": "bounced"}]})
    assert (caught.value.path, caught.value.message) == (
        "condition.all[0].status",
        "status must be one of subscribed, unsubscribed",
    )
