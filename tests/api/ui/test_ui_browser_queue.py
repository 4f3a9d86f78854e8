"""The builder's requests queue one behind the other (htmx ``hx-sync``): a live count that
was queued before a condition's inputs were drawn again must refresh only the error slots
the page shows, in Debian's Chromium (Playwright), on SQLite."""

from __future__ import annotations

from typing import Any

import pytest

from tests.support.ui_browser import Console, Site, new_page, sign_in

pytestmark = pytest.mark.slow

# One script, so the queue holds, in order: a count in flight, a second count, then the
# redraw of condition 1 for its new subject. The second count reads the form after the
# subject changed but is answered before the condition's inputs are drawn for it.
COUNT_QUEUED_BEFORE_REDRAW = """() => {
  htmx.trigger(document.body, 'builder-changed');
  htmx.trigger(document.body, 'builder-changed');
  const subject = document.getElementById('subject_r-0');
  subject.value = 'tag';
  subject.dispatchEvent(new Event('change', {bubbles: true}));
}"""
IDLE = "() => !document.querySelector('.htmx-request')"


def test_a_count_queued_before_a_redraw_refreshes_only_the_slots_shown(
    browser: Any, site: Site
) -> None:
    page = new_page(browser, "desktop")
    console = Console(page)
    sign_in(page, site, "desktop", shots=False)
    page.goto(site.server.url + "/ui/segments/new")
    page.wait_for_function(IDLE)
    assert page.locator("#subject_r-0").input_value() != "tag"
    page.evaluate(COUNT_QUEUED_BEFORE_REDRAW)
    page.locator("select#tag_r-0").wait_for()
    page.locator("#tag_r-0").select_option(index=0)
    page.locator("#preview-count").wait_for()
    page.wait_for_function(IDLE)
    assert page.locator("#err-r-0-tag").count() == 1
    console.check()
