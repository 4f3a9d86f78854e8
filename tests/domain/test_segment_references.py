"""Segment membership leaves and the rules of references: existence, same list, cycles named
segment by segment, the depth limit, deletion refused while referred to, and the dependency
order real-time updates evaluate segments in."""

from __future__ import annotations

from datetime import UTC, date
from typing import Any

import pytest

from segmentd.domain.condition_types.segment_leaf import SegmentCondition, SegmentOp
from segmentd.domain.conditions import Group
from segmentd.domain.contact import Contact
from segmentd.domain.errors import DomainValidationError, InUse
from segmentd.domain.evaluator import evaluate
from segmentd.domain.fields import Catalog
from segmentd.domain.native_form import parse_native, render_native
from segmentd.domain.operators import Relation
from segmentd.domain.segment_graph import (
    MAX_REFERENCE_DEPTH,
    SegmentNode,
    SegmentOwner,
    check_deletable,
    dependency_order,
    referrers,
)
from segmentd.domain.stored_form import dump_condition, load_condition
from segmentd.domain.validation import NATIVE_FIELD_NAME, flat_condition

TODAY = date(2026, 12, 6)


def node(name: str, *refs: str, list_id: int = 1, static: bool = False) -> SegmentNode:
    return SegmentNode(name, list_id, static, frozenset(refs))


# a <- b <- c (c refers to b, b to a); s static; o on another list
GRAPH = {
    "a": node("Alpha"),
    "b": node("Beta", "a"),
    "c": node("Gamma", "b"),
    "s": node("Given", static=True),
    "o": node("Other", list_id=2),
}
CATALOG = Catalog.build(segments=GRAPH)


def leaf(segment: Any, op: str = "in") -> dict[str, Any]:
    return {"kind": "segment", "segment": segment, "op": op}


def parse(raw: Any, owner: SegmentOwner | None = None) -> Group:
    return parse_native(raw, CATALOG, UTC, today=TODAY, owner=owner)


def refused(raw: Any, owner: SegmentOwner | None = None) -> DomainValidationError:
    with pytest.raises(DomainValidationError) as caught:
        parse(raw, owner)
    return caught.value


def test_a_segment_leaf_round_trips_and_evaluates_the_members_segments() -> None:
    raw = {"all": [leaf("a"), {"not": leaf("s")}, leaf("b", "not_in")]}
    tree = parse(raw)
    assert tree.items[0] == SegmentCondition("a", SegmentOp.IN)
    stored = dump_condition(tree)
    assert stored["items"][0] == {"kind": "segment", "segment": "a", "op": "in"}
    assert load_condition(stored, CATALOG, UTC, today=TODAY) == tree
    assert render_native(stored, CATALOG) == raw
    assert evaluate(tree, Contact({}, segments=frozenset({"a"})))
    assert not evaluate(tree, Contact({}, segments=frozenset({"a", "s"})))
    assert not evaluate(tree, Contact({}, segments=frozenset({"a", "b"})))
    assert not evaluate(tree, Contact({}))


def test_the_flat_form_shows_a_segment_leaf_as_native() -> None:
    stored = dump_condition(parse({"all": [leaf("a")]}))
    item = flat_condition(stored, CATALOG)["items"][0]
    assert item["field_name"] == NATIVE_FIELD_NAME
    assert item["value"] == '{"kind":"segment","segment":"a","op":"in"}'


@pytest.mark.parametrize(
    ("raw", "path", "message"),
    [
        (leaf("zz"), "condition.all[0].segment", "segment zz does not exist"),
        (leaf(5), "condition.all[0].segment", "segment 5 does not exist"),
        (leaf("a", "=="), "condition.all[0].op", "op must be one of in, not_in"),
        (
            {"kind": "segment", "op": "in"},
            "condition.all[0].segment",
            "segment None does not exist",
        ),
    ],
)
def test_a_leaf_must_name_a_segment_and_an_op(raw: Any, path: str, message: str) -> None:
    error = refused({"all": [raw]})
    assert (error.path, error.message) == (path, message)


def test_a_reference_stays_on_its_list() -> None:
    owner = SegmentOwner(None, "New", 1)
    parse({"all": [leaf("a"), leaf("s")]}, owner)
    error = refused({"all": [leaf("a"), leaf("o")]}, owner)
    assert error.path == "condition.all[1].segment"
    assert error.message == (
        "segment Other is on list 2: a condition refers only to segments of its own list (1)"
    )


def test_a_cycle_is_refused_naming_it() -> None:
    error = refused({"any": [leaf("s"), leaf("c")]}, SegmentOwner("a", "Alpha", 1))
    assert error.path == "condition.any[1].segment"
    assert error.message == "references may not form a cycle: Alpha -> Gamma -> Beta -> Alpha"
    own = refused(leaf("b"), SegmentOwner("b", "Beta renamed", 1))
    assert own.message == "references may not form a cycle: Beta renamed -> Beta renamed"
    # Beta may refer to anything that does not lead back to it.
    parse({"all": [leaf("a"), leaf("s")]}, SegmentOwner("b", "Beta", 1))


def chain(length: int) -> dict[str, SegmentNode]:
    """s0 <- s1 <- ... <- s{length}: s{i} refers to s{i-1}."""
    graph = {"s0": node("S0")}
    for i in range(1, length + 1):
        graph[f"s{i}"] = node(f"S{i}", f"s{i - 1}")
    return graph


def test_references_nest_at_most_five_deep() -> None:
    graph = chain(MAX_REFERENCE_DEPTH - 1)  # s4 -> s3 -> s2 -> s1 -> s0: four links
    catalog = Catalog.build(segments=graph)
    top = leaf(f"s{MAX_REFERENCE_DEPTH - 1}")
    parse_native(top, catalog, UTC, owner=SegmentOwner(None, "Five", 1))  # five links
    deeper = {**graph, "s5": node("S5", "s4")}
    with pytest.raises(DomainValidationError) as caught:
        parse_native(
            leaf("s5"), Catalog.build(segments=deeper), UTC, owner=SegmentOwner(None, "Six", 1)
        )
    assert caught.value.path == "condition.segment"  # a lone leaf: the root's
    assert caught.value.message == (
        "references nest at most 5 deep (6 here): Six -> S5 -> S4 -> S3 -> S2 -> S1 -> S0"
    )


def test_depth_counts_the_segments_above_the_one_saved() -> None:
    """s4 -> s3 -> s2 -> s1 -> s0: s0 may refer to one more segment, not to a chain of two."""
    graph = {**chain(4), "t1": node("T1", "t0"), "t0": node("T0")}
    catalog = Catalog.build(segments=graph)
    owner = SegmentOwner("s0", "S0", 1)
    parse_native(leaf("t0"), catalog, UTC, owner=owner)  # s4 -> ... -> s0 -> t0: 5 links
    with pytest.raises(DomainValidationError) as caught:
        parse_native(leaf("t1"), catalog, UTC, owner=owner)
    assert caught.value.message.endswith("(6 here): S4 -> S3 -> S2 -> S1 -> S0 -> T1 -> T0")


def test_a_saved_condition_loads_without_the_rules() -> None:
    """Builds and real-time updates load what was saved: only existence is checked."""
    stored = dump_condition(parse({"all": [leaf("o")]}))  # no owner: no list rule
    assert load_condition(stored, CATALOG, UTC) == Group(
        Relation.AND, (SegmentCondition("o", SegmentOp.IN),)
    )
    with pytest.raises(DomainValidationError, match="segment o does not exist"):
        load_condition(stored, Catalog.build(), UTC)


def test_deleting_a_referenced_segment_is_refused_naming_the_referrers() -> None:
    graph = {**GRAPH, "d": node("Delta", "a"), "e": node("Epsilon", "c", "s")}
    assert referrers(graph, "a") == ["b", "d"]
    with pytest.raises(InUse) as caught:
        check_deletable(graph, "a")
    assert str(caught.value) == "[segment_id]:segment Alpha is used by segments: Beta, Delta"
    with pytest.raises(InUse, match="segment Given is used by segments: Epsilon"):
        check_deletable(graph, "s")
    check_deletable(graph, "e")  # nobody refers to it


def test_dependency_order_puts_a_segment_after_those_it_refers_to() -> None:
    graph = {
        "z": node("Z"),
        "y": node("Y", "z"),
        "b": node("B", "y", "x"),
        "x": node("X", "w"),  # w is not among those ordered: x still follows z through it
        "w": node("W", "z"),
        "a": node("A"),
    }
    order = dependency_order(["a", "b", "x", "y", "z"], graph)
    assert sorted(order) == ["a", "b", "x", "y", "z"]
    for segment_id, segment in graph.items():
        if segment_id in order:
            for ref in segment.refs & set(order):
                assert order.index(ref) < order.index(segment_id)
    assert order.index("z") < order.index("x")
