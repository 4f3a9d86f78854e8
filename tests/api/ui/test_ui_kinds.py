"""The builder's rows of the language beyond EngageLab's, saved and counted end to end: each
test runs once the domain registers its kind (or takes its field operator), and until then
stands skipped, saying which."""

from __future__ import annotations

from datetime import date
from typing import Any

import pytest

from segmentd.api.ui.rows.field_row import offered_ops
from segmentd.domain.condition_types.leaf_types import BY_KIND
from segmentd.domain.fields import SYSTEM_FIELDS, FieldDef, FieldType
from segmentd.domain.native_form import render_native
from segmentd.storage.catalog import load_catalog
from segmentd.storage.segments import get_segment
from tests.api.ui.conftest import Shared
from tests.conftest import wait_built
from tests.support.ui_support import (
    MEMBER_COUNT,
    SEGMENTS,
    age,
    api_members,
    builder_form,
    email_of,
    make_segment,
    ok,
    slot_text,
    tags_of,
    tree_form,
)

JOINED = FieldDef("Joined", FieldType.DATE, format="DD/MM/YYYY")
NAME = next(field for field in SYSTEM_FIELDS if field.name == "Name")


def registered(kind: str) -> Any:
    return pytest.mark.skipif(kind not in BY_KIND, reason=f"the domain has no {kind} kind yet")


def takes(field: FieldDef, op: str) -> Any:
    reason = f"the domain takes no {op} on {field.name} yet"
    return pytest.mark.skipif(op not in offered_ops(field), reason=reason)


def saved(shared: Shared, name: str, rows: list[dict[str, Any]]) -> tuple[str, dict[str, Any]]:
    """Save rows through the builder; the segment's id and its condition as stored, in the
    native form."""
    answer = shared.ui.post("/ui/segments/new", builder_form(name, rows))
    assert answer.status_code == 303, answer.text
    segment_id = answer.headers["location"].rsplit("/", 1)[1]
    wait_built(shared.api, segment_id)
    with shared.db.read() as conn:
        segment = get_segment(conn, shared.tenant.id, segment_id)
        assert segment is not None
        return segment_id, render_native(segment.condition, load_catalog(conn, shared.tenant.id))


@registered("tags")
def test_tags_none_of(shared: Shared) -> None:
    rows = [{"subject": "tags", "op": "none_of", "tags": ["Newsletter"]}]
    segment_id, tree = saved(shared, "No newsletter", rows)
    assert tree == {"all": [{"kind": "tags", "op": "none_of", "tags": ["Newsletter"]}]}
    expected = [email_of(i) for i in range(MEMBER_COUNT) if "Newsletter" not in tags_of(i)]
    assert sorted(api_members(shared.api, segment_id)) == expected


@registered("subscription")
def test_subscription_status(shared: Shared) -> None:
    rows = [{"subject": "subscription", "status": "subscribed"}]
    segment_id, tree = saved(shared, "Subscribed", rows)
    assert tree == {"all": [{"kind": "subscription", "status": "subscribed"}]}
    assert len(api_members(shared.api, segment_id)) == MEMBER_COUNT  # nobody left the list


@takes(JOINED, "more_than_ago")
def test_a_relative_date(shared: Shared) -> None:
    """Everyone joined in January 2024: more than a week before any day these tests run."""
    assert date.today() > date(2024, 2, 8)
    rows = [{"subject": "field:Joined", "op": "more_than_ago", "amount": "1", "unit": "weeks"}]
    segment_id, tree = saved(shared, "Joined a while ago", rows)
    leaf = {"kind": "field", "field": "Joined", "op": "more_than_ago", "amount": 1, "unit": "weeks"}
    assert tree == {"all": [leaf]}
    assert len(api_members(shared.api, segment_id)) == MEMBER_COUNT
    page = shared.ui.get(f"/ui/segments/{segment_id}").text
    assert "Joined is more than 1 week ago" in page


@takes(NAME, "in")
def test_in_a_list_and_between(shared: Shared) -> None:
    rows = [
        {"subject": "field:Name", "op": "in", "values": "Member 3\r\nMember 4\r\n\r\nMember 50"},
        {"subject": "field:Age", "op": "between", "low": "20", "high": "30"},
    ]
    segment_id, tree = saved(shared, "Listed", rows)
    listed = {
        "kind": "field",
        "field": "Name",
        "op": "in",
        "values": ["Member 3", "Member 4", "Member 50"],
    }
    assert tree["all"][0] == listed
    assert sorted(api_members(shared.api, segment_id)) == [email_of(3), email_of(4)]
    # A range's error shows in the one slot of the leaf's values, whichever input it is about.
    bad = builder_form(
        "Bad range", [{"subject": "field:Age", "op": "between", "low": "x", "high": "3"}]
    )
    page = shared.ui.post("/ui/segments/new", bad).text
    assert page.count('id="err-r-0-values"') == 1 and slot_text(page, "err-r-0-values") != ""


@registered("engagement")
def test_engagement_and_recency(shared: Shared) -> None:
    """40 members were sent the campaign (today), the odd ones opened it."""
    rows = [
        {
            "subject": "engagement",
            "activity": "open",
            "count_op": ">=",
            "count": "1",
            "amount": "30",
            "unit": "days",
        },
    ]
    segment_id, tree = saved(shared, "Opened lately", rows)
    within = {"amount": 30, "unit": "days"}
    assert tree == {
        "all": [
            {
                "kind": "engagement",
                "activity": "open",
                "count_op": ">=",
                "count": 1,
                "within": within,
            }
        ]
    }
    assert sorted(api_members(shared.api, segment_id)) == [email_of(i) for i in range(1, 40, 2)]
    if "last_activity" in BY_KIND:
        never = [{"subject": "last_activity", "activity": "sent", "op": "never"}]
        segment_id, tree = saved(shared, "Never sent", never)
        assert tree == {"all": [{"kind": "last_activity", "activity": "sent", "op": "never"}]}
        expected = [email_of(i) for i in range(40, MEMBER_COUNT)]
        assert sorted(api_members(shared.api, segment_id)) == expected


@registered("segment")
def test_a_segment_of_segments(shared: Shared) -> None:
    adults = make_segment(
        shared.api,
        {"relation": "and", "items": [{"field_name": "Age", "op": ">=", "value": "30"}]},
        segment_name="Thirty and over",
    )
    picker = shared.ui.get("/ui/builder/row", params={"node": "r-0", "subject_r-0": "segment"})
    assert f'<option value="{adults}">Thirty and over' in picker.text
    tree: dict[str, Any] = {
        "all": [
            {"not": {"subject": "segment", "op": "in", "segment": adults}},
            {"subject": "tag", "op": "==", "tag": "VIP"},
        ]
    }
    answer = shared.ui.post("/ui/segments/new", tree_form("Young VIPs", tree))
    assert answer.status_code == 303, answer.text
    segment_id = answer.headers["location"].rsplit("/", 1)[1]
    segment = wait_built(shared.api, segment_id)
    expected = [email_of(i) for i in range(MEMBER_COUNT) if age(i) < 30 and "VIP" in tags_of(i)]
    assert segment["member_total"] == len(expected)
    page = shared.ui.get(f"/ui/segments/{segment_id}").text
    assert "Not: Member is in the segment “Thirty and over”" in page
    edit = shared.ui.get(f"/ui/segments/{segment_id}/edit").text
    assert f'<option value="{segment_id}"' not in edit  # never offered a condition on itself
    ok(shared.api.get(f"{SEGMENTS}/{segment_id}"))


def test_the_member_filter_offers_no_segment_kind(shared: Shared) -> None:
    """A page's member query has no reader of other segments' membership."""
    page = shared.ui.get("/ui/members").text
    assert 'value="segment"' not in page
    params = {"filter": "1", "subject_f": "segment", "segment_f": "x" * 24, "op_f": "in"}
    answer = shared.ui.get("/ui/members", params=params)
    assert answer.status_code == 200 and slot_text(answer.text, "err-f") != ""
