"""The builder's condition rows, every kind of them, whether or not the domain registers the
kind yet: each row's template shows a leaf in inputs that read back as the same leaf, every
input has a label, and the leaf reads in plain words. The picker offers exactly the kinds
the domain registers (``domain.condition_types.leaf_types``).

Rendered with the UI's own Jinja environment; no server is needed.
"""

from __future__ import annotations

from typing import Any

import pytest

from segmentd.api.ui.builder import LeafView, leaf_view, tree_view
from segmentd.api.ui.i18n import translator
from segmentd.api.ui.rendering import environment
from segmentd.api.ui.rows.leaf_row import LeafInputs, LeafRow, NativeLeaf, Picks
from segmentd.api.ui.rows.leaf_rows import ROWS, offered, read_leaf, row_of, subject_groups
from segmentd.api.ui.tree_form import GroupNode, LeafNode, native_tree, tree_from_native
from segmentd.api.ui.tree_words import tree_words
from segmentd.domain.condition_types.leaf_types import BY_KIND
from segmentd.domain.fields import CampaignStatus, Catalog, FieldDef, FieldType
from segmentd.storage.ui_reads import CampaignChoice, SegmentChoice
from tests.support.html_form import submitted, unlabelled

SEGMENT_ID = "a" * 24
CATALOG = Catalog.build(
    [
        FieldDef("Age", FieldType.NUMBER, format="0", slot=1, id=1),
        FieldDef("Birthday", FieldType.BIRTHDAY, format="DD/MM", slot=2, id=2),
        FieldDef("Joined", FieldType.DATE, format="DD/MM/YYYY", slot=3, id=3),
        FieldDef("City", FieldType.DROPDOWN, options=("Paris", "Lyon", "Nice"), slot=4, id=4),
    ],
    tags={1: "VIP", 2: "Newsletter"},
    campaigns={7: CampaignStatus.COMPLETED},
)
PICKS = Picks(
    CATALOG,
    campaigns=[CampaignChoice(7, "Spring sale", "completed")],
    segments=[SegmentChoice(SEGMENT_ID, "Buyers", 1), SegmentChoice("b" * 24, "Itself", 1)],
    editing="b" * 24,
)

# A leaf of every shape of every row, as design21 and docs/conditions.md write them.
LEAVES: list[NativeLeaf] = [
    {"kind": "field", "field": "Age", "op": ">=", "value": "25"},
    {"kind": "field", "field": "Joined", "op": "<", "value": "31/01/2024"},
    {"kind": "field", "field": "Birthday", "op": "==", "value": "30/03"},
    {"kind": "field", "field": "CreateTime", "op": ">", "value": "2024-05-01"},
    {"kind": "field", "field": "City", "op": "!=", "value": "Lyon"},
    {"kind": "field", "field": "Name", "op": "starts_with", "value": "Jo"},
    {"kind": "field", "field": "Email", "op": "is_set"},
    {"kind": "field", "field": "City", "op": "in", "values": ["Paris", "Nice"]},
    {"kind": "field", "field": "Name", "op": "not_in", "values": ["Ann", "Bob"]},
    {"kind": "field", "field": "Age", "op": "between", "values": ["20", "30"]},
    {"kind": "field", "field": "Joined", "op": "between", "values": ["01/01/2024", "31/01/2024"]},
    {"kind": "field", "field": "Joined", "op": "in_last", "amount": 3, "unit": "months"},
    {"kind": "field", "field": "UpdateTime", "op": "more_than_ago", "amount": 2, "unit": "weeks"},
    {"kind": "field", "field": "Joined", "op": "is_today"},
    {
        "kind": "field",
        "field": "Birthday",
        "op": "anniversary_in_next",
        "amount": 7,
        "unit": "days",
    },
    {"kind": "field", "field": "Birthday", "op": "anniversary_this_month"},
    {"kind": "tag", "tag": "Newsletter", "op": "!="},
    {"kind": "tags", "op": "all_of", "tags": ["VIP", "Newsletter"]},
    {"kind": "campaign", "campaign": 7, "activity": "click"},
    {
        "kind": "engagement",
        "activity": "open",
        "count_op": ">=",
        "count": 3,
        "within": {"amount": 30, "unit": "days"},
    },
    {"kind": "engagement", "activity": "click", "count_op": "==", "count": 0, "within": None},
    {
        "kind": "last_activity",
        "activity": "engaged",
        "op": "more_than_ago",
        "amount": 60,
        "unit": "days",
    },
    {"kind": "last_activity", "activity": "open", "op": "never"},
    {"kind": "subscription", "status": "unsubscribed"},
    {"kind": "segment", "segment": SEGMENT_ID, "op": "not_in"},
]
ROW_KINDS = {row.kind for row in ROWS}


def _row(kind: str) -> LeafRow:
    return next(row for row in ROWS if row.kind == kind)


def render(view: LeafView) -> str:
    template = environment.get_template("partials/leaf_body.html")
    context = {"subjects": subject_groups(PICKS), "errors": {}, "mode": "builder"}
    return template.render(leaf=view, editing="", _=translator("en"), **context)


def shown_as_is(leaf: NativeLeaf) -> LeafView:
    """The row of the leaf's kind (registered or not) showing it unfitted."""
    row = _row(leaf["kind"])
    view = row.view(leaf, PICKS)
    return LeafView("r-0", "1", False, False, row, leaf, view, row.subject(leaf), row.parts)


@pytest.mark.parametrize("leaf", LEAVES, ids=lambda leaf: f"{leaf['kind']}-{leaf.get('op')}")
def test_every_row_reads_back_the_leaf_it_shows(leaf: NativeLeaf) -> None:
    fragment = render(shown_as_is(leaf))
    row = _row(leaf["kind"])
    form = submitted(fragment)
    assert row.read(LeafInputs(form, "r-0"), form["subject_r-0"], PICKS) == leaf
    assert unlabelled(fragment) == []
    for part in row.parts:
        assert f'id="err-r-0-{part}"' in fragment  # every part's error has its slot


@pytest.mark.parametrize("leaf", LEAVES, ids=lambda leaf: f"{leaf['kind']}-{leaf.get('op')}")
def test_every_leaf_reads_in_plain_words(leaf: NativeLeaf) -> None:
    words = _row(leaf["kind"]).describe(leaf, PICKS, translator("en"))
    assert words and "None" not in words and "{" not in words
    for value in ("25", "Jo", "Paris", "Newsletter", "Spring sale", "Buyers", "60"):
        if value in str(leaf.values()) or value == {7: "Spring sale"}.get(leaf.get("campaign")):
            assert value in words
        if leaf.get("segment") == SEGMENT_ID:
            assert "“Buyers”" in words


@pytest.mark.parametrize("row", ROWS, ids=lambda row: row.kind)
def test_a_new_condition_of_each_kind_reads_back_as_shown(row: LeafRow) -> None:
    for _group, choice in row.subjects(PICKS):
        blank = row.blank(choice.value, PICKS)
        view = LeafView(
            "r-0", "1", False, False, row, blank, row.view(blank, PICKS), choice.value, row.parts
        )
        form = submitted(render(view))
        assert form["subject_r-0"] == choice.value
        assert row.read(LeafInputs(form, "r-0"), choice.value, PICKS) == blank


def test_the_picker_offers_the_kinds_the_domain_registers() -> None:
    assert set(BY_KIND) <= ROW_KINDS, "a kind the domain registers has no row in the builder"
    assert {row.kind for row in offered()} == ROW_KINDS & set(BY_KIND)
    subjects = {
        choice.value.partition(":")[0] for _, group in subject_groups(PICKS) for choice in group
    }
    assert subjects == {row.kind for row in offered()}
    for leaf in LEAVES:  # a leaf of a kind not registered yet shows as its JSON, kept as is
        if leaf["kind"] not in BY_KIND:
            assert row_of(leaf).kind == "raw"
            form = submitted(render(leaf_view(LeafNode("r-0", leaf), PICKS)))
            assert read_leaf(LeafInputs(form, "r-0"), PICKS) == leaf


def test_the_segment_picker_leaves_out_the_segment_being_edited() -> None:
    view = _row("segment").view({"kind": "segment", "segment": "", "op": "in"}, PICKS)
    assert [choice.value for choice in view["segments"]] == [SEGMENT_ID]


NESTED: dict[str, Any] = {
    "any": [
        {"kind": "tag", "tag": "VIP", "op": "=="},
        {"not": {"all": [{"kind": "field", "field": "Age", "op": "<", "value": "18"}]}},
        {"not": {"kind": "field", "field": "City", "op": "==", "value": "Paris"}},
        {"not": {"not": {"kind": "tag", "tag": "Newsletter", "op": "=="}}},
    ]
}


def test_the_tree_reads_back_and_reads_in_words() -> None:
    tree = tree_from_native(NESTED)
    expected = {
        **NESTED,
        "any": [*NESTED["any"][:3], {"kind": "tag", "tag": "Newsletter", "op": "=="}],
    }
    assert native_tree(tree) == expected  # a double negation is the node itself
    words = tree_words(tree, PICKS, translator("en"))
    assert words.text == "At least one of these holds:"
    assert [item.text for item in words.items] == [
        "Member has the tag “VIP”",
        "Not all of these hold:",
        "Not: City is “Paris”",
        "Member has the tag “Newsletter”",
    ]
    assert words.items[1].items[0].text == "Age is less than “18”"
    french = tree_words(tree, PICKS, translator("fr"))
    assert french.items[1].text != "Not all of these hold:"


def test_a_lone_leaf_or_negation_becomes_a_group_of_one() -> None:
    leaf = {"kind": "tag", "tag": "VIP", "op": "=="}
    for raw in (leaf, {"not": {"all": [leaf]}}):
        tree = tree_from_native(raw)
        assert isinstance(tree, GroupNode) and tree.join == "all" and len(tree.items) == 1
        assert native_tree(tree) == {"all": [raw]}


def test_the_view_offers_room_up_to_the_limits() -> None:
    from segmentd.domain.conditions import MAX_DEPTH, MAX_ITEMS

    leaf = {"kind": "tag", "tag": "VIP", "op": "=="}
    deep: dict[str, Any] = {"all": [leaf]}
    for _ in range(MAX_DEPTH - 1):
        deep = {"all": [leaf, deep]}
    view = tree_view(tree_from_native(deep), PICKS)
    depth = 1
    while len(view.items) > 1:
        assert view.room.group
        view, depth = view.items[1], depth + 1  # type: ignore[assignment]
    assert depth == MAX_DEPTH and not view.room.group and view.room.leaf
    full = tree_view(tree_from_native({"all": [leaf] * MAX_ITEMS}), PICKS)
    assert not full.room.leaf and not full.room.group
