"""The keyboard alone (Tab, Enter, Space, arrow keys), in Debian's Chromium on SQLite: a
segment made with the builder then cloned, and a member edited, every focused control
showing a visible focus indicator. Screenshots: ``keyboard-builder-*`` and ``keyboard-member-*``."""

from __future__ import annotations

import re
from typing import Any

import pytest

from tests.support.ui_browser import WIDTHS, Console, Site, new_page, shoot, sign_in
from tests.support.ui_support import MEMBER_COUNT, MEMBERS, SEGMENTS, age, email_of, ok

pytestmark = pytest.mark.slow

MAX_TABS = 80
# The focused element and whether its focus shows (the stylesheet's :focus-visible outline).
FOCUSED = """() => { const el = document.activeElement;
  if (!el || el === document.body) return null;
  const style = getComputedStyle(el);
  const visible = el.matches(':focus-visible') && style.outlineStyle !== 'none'
                  && parseFloat(style.outlineWidth) >= 2;
  return {html: el.outerHTML.slice(0, 100), visible}; }"""


# No htmx request or swap under way, and the focus back on a select (htmx keeps it by id).
SETTLED = """() => !document.querySelector('.htmx-request, .htmx-swapping, .htmx-settling')
  && document.activeElement.tagName === 'SELECT'"""


def tab_to(page: Any, selector: str) -> None:
    """Press Tab until ``selector`` has the focus; every control met on the way must show it."""
    for _ in range(MAX_TABS):
        page.keyboard.press("Tab")
        focused = page.evaluate(FOCUSED)
        if focused is None:
            continue
        assert focused["visible"], focused["html"]
        if page.evaluate("s => document.activeElement.matches(s)", selector):
            return
    raise AssertionError(f"{selector} not reached by {MAX_TABS} Tab presses")


def choose(page: Any, value: str) -> None:
    """Move the focused select to ``value`` with the arrow keys (down, then up)."""
    for key in ("ArrowDown", "ArrowUp"):
        for _ in range(120):
            if page.evaluate("document.activeElement.value") == value:
                return
            before = page.evaluate("document.activeElement.selectedIndex")
            page.keyboard.press(key)
            page.wait_for_function(SETTLED)  # a subject's change redraws its row
            if page.evaluate("document.activeElement.selectedIndex") == before:
                break
    assert page.evaluate("document.activeElement.value") == value


@pytest.mark.parametrize("width", list(WIDTHS))
def test_a_segment_is_built_with_the_keyboard_alone(browser: Any, site: Site, width: str) -> None:
    page = new_page(browser, width)
    console = Console(page)
    sign_in(page, site, width, shots=False)
    tab_to(page, "a[href='/ui/segments/new']")
    page.keyboard.press("Enter")
    page.wait_for_url(re.compile(r"/ui/segments/new$"))
    page.locator("#preview-count").wait_for()
    tab_to(page, "#segment_name")
    page.keyboard.type(f"Typed {width}")
    tab_to(page, "#subject_r-0")
    choose(page, "field:Age")
    page.locator("#value_r-0[type=number]").wait_for()
    tab_to(page, "#op_r-0")
    choose(page, ">=")
    tab_to(page, "#value_r-0")
    page.keyboard.type("25")
    page.wait_for_load_state("networkidle")
    shoot(page, "keyboard-builder", width)
    tab_to(page, "#builder button[type=submit].primary")
    page.keyboard.press("Enter")
    page.wait_for_url(re.compile(r"/ui/segments/[0-9a-f]{24}$"))
    segment_id = page.url.rsplit("/", 1)[1]
    page.locator("#status-word").filter(has_text="complete").wait_for()
    saved = ok(site.api.get(f"{SEGMENTS}/{segment_id}"))["result"]
    assert saved["segment_name"] == f"Typed {width}"
    assert saved["member_total"] == sum(1 for i in range(MEMBER_COUNT) if age(i) >= 25)

    tab_to(page, f"form[action='/ui/segments/{segment_id}/clone'] button")
    page.keyboard.press("Enter")
    page.wait_for_url(
        lambda url: re.search(r"/ui/segments/[0-9a-f]{24}$", url) and segment_id not in url
    )
    page.get_by_role("heading", name=f"Copy of Typed {width}").wait_for()
    copy = ok(site.api.get(f"{SEGMENTS}/{page.url.rsplit('/', 1)[1]}"))["result"]
    assert copy["condition"] == saved["condition"]
    console.check()


@pytest.mark.parametrize("width", list(WIDTHS))
def test_a_member_is_edited_with_the_keyboard_alone(browser: Any, site: Site, width: str) -> None:
    email = email_of(4)
    members = ok(site.api.get(MEMBERS, params={"limit": 100}))["result"]
    member_id = next(m["id"] for m in members if m["email"] == email)
    page = new_page(browser, width)
    console = Console(page)
    sign_in(page, site, width, shots=False)
    tab_to(page, "nav a[href='/ui/members']")
    page.keyboard.press("Enter")
    page.wait_for_url(re.compile(r"/ui/members$"))
    tab_to(page, "#q")
    page.keyboard.type(email)
    page.keyboard.press("Enter")
    page.wait_for_url(re.compile(r"q="))
    tab_to(page, f"main a[href='/ui/members/{member_id}']")
    page.keyboard.press("Enter")
    page.wait_for_url(re.compile(r"/ui/members/\d+$"))
    tab_to(page, "a[href$='/edit']")
    page.keyboard.press("Enter")
    page.wait_for_url(re.compile(r"/edit$"))
    tab_to(page, "#name")
    page.keyboard.press("Control+A")
    page.keyboard.type("Renamed by keys")
    tab_to(page, "select[name=field_value]")  # City, a dropdown
    choose(page, "Paris")
    tab_to(page, "#tags")
    page.keyboard.press("Control+End")
    page.keyboard.press("Enter")
    page.keyboard.type("Typed tag")
    shoot(page, "keyboard-member", width)
    tab_to(page, "form[action$='/edit'] button[type=submit]")
    page.keyboard.press("Space")
    page.get_by_role("status").filter(has_text="Member saved.").wait_for()
    (stored,) = [
        m for m in ok(site.api.get(MEMBERS, params={"limit": 100}))["result"] if m["email"] == email
    ]
    assert stored["name"] == "Renamed by keys"
    assert stored["fields"]["City"] == "Paris"
    assert "Typed tag" in stored["tag_names"]
    console.check()
