"""Every UI page in Debian's Chromium, on SQLite, checked by axe-core (no serious or critical
violation), at 390 px (no horizontal scroll) and in French (no phrase left in English), at
both widths. Screenshots: ``page-<name>-{desktop,phone}.png`` in test-artifacts/screenshots/."""

from __future__ import annotations

from typing import Any

import pytest

from segmentd.api.ui.i18n import FRENCH
from tests.support.ui_browser import WIDTHS, Console, Site, new_page, settled, shoot, sign_in
from tests.support.ui_pages import blocking_violations, every_page

pytestmark = pytest.mark.slow

NO_SCROLL = "document.scrollingElement.scrollWidth - window.innerWidth"
# English phrases a French page must not show: the translated keys of more than one word
# (one English word may also be a name the user typed, or the same in both languages).
ENGLISH = sorted(k for k, v in FRENCH.items() if k != v and " " in k and "{" not in k)


# The page's words, less its codes (an operator's API name is shown as it is sent).
WORDS = """() => { const body = document.body.cloneNode(true);
  body.querySelectorAll('code, script').forEach(el => el.remove()); return body.textContent; }"""


def untranslated(page: Any) -> list[str]:
    text = " ".join(page.evaluate(WORDS).split())
    return [phrase for phrase in ENGLISH if phrase in text]


@pytest.mark.parametrize("width", list(WIDTHS))
def test_every_page_passes_axe_fits_and_is_french(browser: Any, site: Site, width: str) -> None:
    page = new_page(browser, width)
    console = Console(page)
    page.goto(site.server.url + "/ui/login")
    assert blocking_violations(page) == [], "login"
    sign_in(page, site, width, shots=False)
    pages = every_page(page, site)
    problems: dict[str, Any] = {}
    for name, path in pages:
        page.goto(site.server.url + path)
        settled(page)
        problems[name] = blocking_violations(page), page.evaluate(NO_SCROLL)
        shoot(page, f"page-{name}", width)
    assert {k: v for k, v in problems.items() if v != ([], 0)} == {}

    page.get_by_label("Language").select_option("fr")
    page.get_by_role("button", name="Apply").click()
    page.locator("html[lang=fr]").wait_for()
    for name, path in pages:
        page.goto(site.server.url + path)
        settled(page)
        french = untranslated(page)
        problems[name] = french, blocking_violations(page), page.evaluate(NO_SCROLL)
    assert {k: v for k, v in problems.items() if v != ([], [], 0)} == {}
    console.check()
