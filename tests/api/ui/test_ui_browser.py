"""The web UI in a real browser (Debian's chromium driven by Playwright), on SQLite.

A marketer signs in, builds a segment with three conditions of different types, watches it
complete, pages through its members, removes one and exports the rest; the API must then tell
the same story. Screenshots of every page at 1280 and 390 pixels wide go to
test-artifacts/screenshots/.
"""

from __future__ import annotations

import csv
import io
import json
import re
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from segmentd.domain.native_form import render_native
from segmentd.storage.catalog import load_catalog
from segmentd.storage.schema import segments
from segmentd.storage.segments import get_segment, next_segment_number
from segmentd.storage.tenants import default_list_id
from segmentd.timefmt import now
from tests.support.stored_conditions import stored_condition
from tests.support.ui_browser import (
    WIDTHS,
    Console,
    Site,
    check_labels,
    new_page,
    pick,
    shoot,
    sign_in,
)
from tests.support.ui_support import (
    MEMBER_COUNT,
    MEMBERS,
    SEGMENTS,
    age,
    birthday,
    email_of,
    expected_three_conditions,
    ok,
    tags_of,
)

pytestmark = pytest.mark.slow


def build_three_conditions(page: Any, site: Site) -> None:
    """Age (number) >= 25, Birthday (month and day) <= 10/31, tag == VIP: all by the mouse."""
    page.get_by_role("link", name="New segment").click()
    name = page.get_by_label("Segment name")
    name.fill("Bad.name")
    api = site.api.post(SEGMENTS, json={"segment_name": "Bad.name", "type": 0, "condition": {}})
    api_words = api.json()["message"].partition("]:")[2]
    page.locator("#err-segment_name").filter(has_text=api_words).wait_for()
    name.fill("Engaged VIPs")
    pick(page, "r-0", "field:Age", "#value_{node}[type=number]")
    page.locator("#op_r-0").select_option(">=")
    page.locator("#value_r-0").fill("25")
    page.get_by_role("button", name="Add a condition").click()
    pick(page, "r-1", "field:Birthday", "#month_{node}")
    page.locator("#op_r-1").select_option("<=")
    page.locator("#month_r-1").select_option("10")
    page.locator("#day_r-1").select_option("31")
    page.get_by_role("button", name="Add a condition").click()
    pick(page, "r-2", "tag", "select#tag_{node}")
    page.locator("#tag_r-2").select_option("VIP")
    expected = str(len(expected_three_conditions()))
    page.locator("#preview-count").filter(has_text=re.compile(f"^{expected}$")).wait_for()
    assert page.locator("#err-segment_name").inner_text() == ""


def test_marketer_builds_checks_and_exports_a_segment(browser: Any, site: Site) -> None:
    width = "desktop"
    page = new_page(browser, width)
    sign_in(page, site, width)
    build_three_conditions(page, site)
    check_labels(page)
    shoot(page, "builder", width)
    page.get_by_role("button", name="Save and build").click()
    page.wait_for_url(re.compile(r"/ui/segments/[0-9a-f]{24}$"))
    segment_id = page.url.rsplit("/", 1)[1]
    page.locator("#status-word").filter(has_text="complete").wait_for()  # polled, then reloaded
    expected = [email_of(i) for i in expected_three_conditions()]
    assert page.locator("#member-total").inner_text() == str(len(expected))
    check_labels(page)
    shoot(page, "segment", width)

    first_page = page.locator("table.members tbody td:nth-child(2)").all_inner_texts()
    page.get_by_role("link", name="Next").click()
    page.wait_for_url(re.compile(r"offset=20"))
    second_page = page.locator("table.members tbody td:nth-child(2)").all_inner_texts()
    assert first_page + second_page == expected

    removed = second_page[0]
    page.get_by_label(f"Select {removed}").check()
    page.get_by_role("button", name="Remove selected members").click()
    page.get_by_role("status").filter(has_text="1 member removed from the segment.").wait_for()
    with page.expect_download() as download:
        page.get_by_role("link", name="Export CSV").click()
    exported = Path(download.value.path()).read_text(encoding="utf-8-sig")
    rows = list(csv.DictReader(io.StringIO(exported)))

    segment = ok(site.api.get(f"{SEGMENTS}/{segment_id}"))["result"]
    assert segment["segment_name"] == "Engaged VIPs" and segment["status"] == "2"
    assert segment["member_total"] == len(expected) - 1
    listed = ok(site.api.post(f"{SEGMENTS}/{segment_id}/members?limit=100"))["result"]
    assert [m["email"] for m in listed] == [e for e in expected if e != removed]
    assert [row["email"] for row in rows] == [m["email"] for m in listed]
    assert rows[0]["Birthday"] == listed[0]["fields"]["Birthday"]
    assert rows[0]["tags"] == "VIP"


def test_the_token_is_revealed_in_place(browser: Any, site: Site) -> None:
    page = new_page(browser, "desktop")
    sign_in(page, site, "desktop", shots=False)
    page.get_by_role("link", name="Sites").click()
    page.get_by_role("button", name="Reveal the token").click()
    site_id = ok(site.api.get("/v1/sites"))["result"][0]["site_id"]
    token = ok(site.api.get(f"/v1/sites/{site_id}/token"))["result"]["token"]
    # The masked token is labelled "Token" too until the reveal swaps the text box in.
    assert page.get_by_role("textbox", name="Token", exact=True).input_value() == token


def test_keyboard_reaches_the_skip_link_first(browser: Any, site: Site) -> None:
    page = new_page(browser, "desktop")
    sign_in(page, site, "desktop", shots=False)
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.className") == "skip"
    page.keyboard.press("Enter")
    assert page.evaluate("location.hash") == "#main"


def _building_segment(site: Site) -> None:
    """A segment caught mid-build (no job behind it), so the screenshots show a progress bar."""
    with site.db.write() as conn:
        conn.execute(
            sa.insert(segments).values(
                id="0" * 23 + "1",
                number=next_segment_number(conn, site.tenant.id),
                commandersact_id="0000000A",
                tenant_id=site.tenant.id,
                list_id=default_list_id(conn, site.tenant.id),
                name="Rebuilding now",
                segment_type=0,
                condition=json.dumps(
                    stored_condition(
                        conn,
                        site.tenant.id,
                        {
                            "relation": "and",
                            "items": [{"field_name": "Age", "op": ">", "value": "30"}],
                        },
                    )
                ),
                status=1,
                percent=42,
                generation=0,
                member_total=0,
                created_at=now(),
                updated_at=now(),
            )
        )


@pytest.mark.parametrize("width", list(WIDTHS))
def test_every_page_is_readable_at_laptop_and_phone_width(
    browser: Any, site: Site, width: str
) -> None:
    older = {"relation": "or", "items": [{"field_name": "Age", "op": ">=", "value": "60"}]}
    site.api.post(SEGMENTS, json={"segment_name": "Older", "type": 0, "condition": older})
    _building_segment(site)
    page = new_page(browser, width)
    console = Console(page)
    sign_in(page, site, width)
    page.locator("progress").first.wait_for()
    pages = {
        "segments": "/ui/segments",
        "segment-building": f"/ui/segments/{'0' * 23}1",
        "builder-empty": "/ui/segments/new",
        "members": "/ui/members",
        "fields": "/ui/fields",
        "sites": "/ui/sites",
    }
    for name, path in pages.items():
        page.goto(site.server.url + path)
        check_labels(page)
        overflow = page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
        assert overflow <= 1, f"{name} scrolls sideways at {width}"
        shoot(page, name, width)
    if width == "phone":
        page.goto(site.server.url + "/ui/segments")
        build_three_conditions(page, site)
        shoot(page, "builder", width)
        page.get_by_role("button", name="Save and build").click()
        page.locator("#status-word").filter(has_text="complete").wait_for()
        shoot(page, "segment", width)
    console.check()


# The tree the next test builds by the mouse, as the native form says it.
NESTED_TREE = {
    "all": [
        {"kind": "field", "field": "Age", "op": ">=", "value": "25"},
        {
            "not": {
                "any": [
                    {"kind": "tag", "tag": "Newsletter", "op": "=="},
                    {
                        "all": [
                            {"kind": "field", "field": "City", "op": "==", "value": "Lyon"},
                            {"kind": "field", "field": "Birthday", "op": "<=", "value": "06/30"},
                        ]
                    },
                ]
            }
        },
    ]
}


def expected_nested() -> list[str]:
    """Age >= 25 and none of: the tag Newsletter, or (Lyon and a birthday by the end of June)."""
    return [
        email_of(i)
        for i in range(MEMBER_COUNT)
        if age(i) >= 25 and not ("Newsletter" in tags_of(i) or (i % 2 == 0 and birthday(i)[0] <= 6))
    ]


def build_nested_tree(page: Any) -> None:
    page.get_by_label("Segment name").fill("Adults but not these")
    pick(page, "r-0", "field:Age", "#value_{node}[type=number]")
    page.locator("#op_r-0").select_option(">=")
    page.locator("#value_r-0").fill("25")
    page.get_by_role("button", name="Add a group", exact=True).click()
    page.locator("#subject_r-1-0").wait_for()
    page.locator("#not_r-1").check()
    page.locator("#join_r-1_any").check()
    pick(page, "r-1-0", "tag", "select#tag_{node}")
    page.locator("#op_r-1-0").select_option("==")
    page.locator("#tag_r-1-0").select_option("Newsletter")
    page.get_by_role("button", name="Add a group to group 2", exact=True).click()
    pick(page, "r-1-1-0", "field:City", "select#value_{node}")
    page.locator("#value_r-1-1-0").select_option("Lyon")
    page.get_by_role("button", name="Add a condition to group 2.2", exact=True).click()
    pick(page, "r-1-1-1", "field:Birthday", "#month_{node}")
    page.locator("#op_r-1-1-1").select_option("<=")
    page.locator("#month_r-1-1-1").select_option("6")
    page.locator("#day_r-1-1-1").select_option("30")


def saved_tree(site: Site, segment_id: str) -> dict[str, Any]:
    with site.db.read() as conn:
        segment = get_segment(conn, site.tenant.id, segment_id)
        assert segment is not None
        return render_native(segment.condition, load_catalog(conn, site.tenant.id))


def test_marketer_builds_a_nested_tree_with_a_negated_group(
    browser: Any, site: Site, tmp_path: Path
) -> None:
    expected = expected_nested()
    leaving = expected[0]
    ok(site.api.post(f"{MEMBERS}/unsubscribe", json={"emails": [leaving]}))
    page = new_page(browser, "desktop")
    sign_in(page, site, "desktop", shots=False)
    page.get_by_role("link", name="New segment").click()
    build_nested_tree(page)
    count = page.locator("#preview-count")
    count.filter(has_text=re.compile(f"^{len(expected)}$")).wait_for()
    words = page.locator("#description")
    words.filter(has_text="None of these holds:").wait_for()
    for sentence in ("Age is at least “25”", "Member has the tag “Newsletter”", "City is “Lyon”"):
        assert sentence in words.inner_text()
    check_labels(page)
    assert page.evaluate("document.documentElement.scrollWidth - window.innerWidth") <= 1
    page.evaluate("window.scrollTo(0, 0)")  # the count sticks beside the tree as it scrolls
    page.screenshot(path=str(tmp_path / "builder-nested-desktop.png"), full_page=True)

    page.get_by_role("button", name="Save and build").click()
    page.wait_for_url(re.compile(r"/ui/segments/[0-9a-f]{24}$"))
    segment_id = page.url.rsplit("/", 1)[1]
    page.locator("#status-word").filter(has_text="complete").wait_for()
    assert saved_tree(site, segment_id) == NESTED_TREE
    segment = ok(site.api.get(f"{SEGMENTS}/{segment_id}"))["result"]
    assert segment["member_total"] == len(expected) and segment["type"] == 0
    listed = ok(site.api.post(f"{SEGMENTS}/{segment_id}/members?limit=100"))["result"]
    assert [m["email"] for m in listed] == expected
    assert "None of these holds:" in page.locator(".sentences").inner_text()
    marked = page.locator("tr.unsubscribed")
    assert marked.count() == 1 and leaving in marked.inner_text()
    assert "unsubscribed" in marked.inner_text()
    page.screenshot(path=str(tmp_path / "segment-nested-desktop.png"), full_page=True)

    page.set_viewport_size({"width": WIDTHS["phone"][0], "height": WIDTHS["phone"][1]})
    page.goto(f"{site.server.url}/ui/segments/{segment_id}/edit")
    assert page.locator("#not_r-1").is_checked() and page.locator("#join_r-1_any").is_checked()
    count.filter(has_text=re.compile(f"^{len(expected)}$")).wait_for()
    assert page.evaluate("document.documentElement.scrollWidth - window.innerWidth") <= 1
    page.evaluate("window.scrollTo(0, 0)")
    page.screenshot(path=str(tmp_path / "builder-nested-phone.png"), full_page=True)
    page.get_by_role("button", name="Save and build").click()  # saved as it was read
    page.locator("#status-word").filter(has_text="complete").wait_for()
    assert saved_tree(site, segment_id) == NESTED_TREE
    page.screenshot(path=str(tmp_path / "segment-nested-phone.png"), full_page=True)
