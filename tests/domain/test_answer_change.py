"""Whether a change of fields can change a condition's answer, told from the fields alone:
only when a leaf reading a touched field answers differently, or a touched leaf reads more
than fields."""

from __future__ import annotations

from datetime import timedelta, timezone
from typing import Any

import pytest

from segmentd.domain.answer_change import leaf_inputs, may_answer_differently
from segmentd.domain.conditions import Inputs
from segmentd.domain.contact import Contact
from segmentd.domain.evaluator import evaluate
from segmentd.domain.fields import Catalog, FieldDef, FieldType
from segmentd.domain.validation import SegmentType, parse_condition

TZ = timezone(timedelta(hours=8))
AGE = FieldDef("Age", FieldType.NUMBER, format=".0", slot=1, id=11)
CITY = FieldDef("City", FieldType.TEXT, slot=2, id=12)
CATALOG = Catalog.build([AGE, CITY], tags={3: "vip"})
AGE_ONLY = Inputs(fields=frozenset({AGE.key}))


def parsed(*items: dict[str, Any], relation: str = "and") -> Any:
    raw = {"relation": relation, "items": list(items)}
    return parse_condition(raw, CATALOG, SegmentType.BY_FIELD, TZ)


def item(field: str, op: str, value: str) -> dict[str, Any]:
    return {"field_name": field, "op": op, "value": value}


def ages(before: float, after: float) -> tuple[Contact, Contact]:
    return Contact({AGE.key: before}), Contact({AGE.key: after})


@pytest.mark.parametrize(
    ("before", "after", "may"),
    [(20.0, 25.0, False), (29.0, 30.0, True), (31.0, 29.0, True), (40.0, 41.0, False)],
)
def test_a_change_moves_the_answer_only_through_a_touched_leaf_that_flips(
    before: float, after: float, may: bool
) -> None:
    # The tag leaf is not read: the Age leaf alone decides whether the answer may move.
    condition = parsed(item("age", ">=", "30"), item("tag", "==", "vip"))
    then, now = ages(before, after)
    assert may_answer_differently(leaf_inputs(condition), AGE_ONLY, then, now) is may
    if not may:  # whatever the tags: the same answer before and after
        for tags in (frozenset(), frozenset({"vip"})):
            with_tags = [Contact(c.values, tags=tags) for c in (then, now)]
            assert evaluate(condition, with_tags[0]) == evaluate(condition, with_tags[1])


def test_leaves_of_untouched_inputs_are_not_evaluated_and_touched_non_field_leaves_may_move() -> (
    None
):
    condition = parsed(item("city", "==", "paris"), item("tag", "==", "vip"), relation="or")
    then, now = ages(29.0, 30.0)
    assert not may_answer_differently(leaf_inputs(condition), AGE_ONLY, then, now)
    tags_touched = Inputs(tags=True)
    assert may_answer_differently(leaf_inputs(condition), tags_touched, then, then)
