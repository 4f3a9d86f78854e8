"""What the browser tests share: Debian's Chromium driven by Playwright, a live server on a
seeded SQLite database, pages at desktop and phone widths, and what every page must not do
(unlabelled controls, console errors, Content-Security-Policy violations)."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from segmentd.storage.db import Database
from tests.conftest import LiveServer, Tenant

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
    "--disable-sync",
]
SCREENSHOTS = Path(__file__).resolve().parents[2] / "test-artifacts" / "screenshots"
WIDTHS = {"desktop": (1280, 800), "phone": (390, 844)}
TIMEOUT_MS = 30_000

# Every control a user can reach must have a name: a <label>, or aria-label where none fits.
UNLABELLED_CONTROLS = """() => [...document.querySelectorAll(
    'input:not([type=hidden]), select, textarea, button')]
  .filter(el => !(el.labels && el.labels.length) && !el.getAttribute('aria-label')
                && !(el.tagName === 'BUTTON' && el.textContent.trim()))
  .map(el => el.outerHTML.slice(0, 120))"""


def new_page(browser: Any, width: str) -> Any:
    w, h = WIDTHS[width]
    context = browser.new_context(viewport={"width": w, "height": h}, accept_downloads=True)
    context.set_default_timeout(TIMEOUT_MS)
    return context.new_page()


# Nothing of htmx's in flight: no request (a request's element carries htmx-request from
# before it is sent; the builder's count is sent at load), no swap, no settling.
HTMX_AT_REST = "() => !document.querySelector('.htmx-request, .htmx-swapping, .htmx-settling')"


def settled(page: Any) -> None:
    """Wait until the page just loaded is as a user would read it: loaded, and htmx done with
    what it sent at load (rather than Playwright's "networkidle", half a second of silence
    waited on every page)."""
    page.wait_for_load_state("load")
    page.wait_for_function(HTMX_AT_REST)


def shoot(page: Any, name: str, width: str) -> None:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / f"{name}-{width}.png"), full_page=True)


def check_labels(page: Any) -> None:
    assert page.evaluate(UNLABELLED_CONTROLS) == [], page.url


def sign_in(page: Any, site: Site, width: str, shots: bool = True) -> None:
    page.goto(site.server.url + "/ui/segments")
    page.get_by_label("api_user").fill(site.tenant.api_user)
    page.get_by_label("api_key").fill(site.tenant.api_key)
    if shots:
        check_labels(page)
        shoot(page, "login", width)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(re.compile(r"/ui/segments$"))


def pick(page: Any, node: str, subject: str, ready: str) -> None:
    """Choose what condition ``node`` tests, and wait for its inputs to be drawn again."""
    page.locator(f"#subject_{node}").select_option(subject)
    page.locator(ready.format(node=node)).wait_for()


class Site:
    def __init__(self, server: LiveServer, tenant: Tenant, db: Database) -> None:
        self.server, self.tenant, self.db = server, tenant, db
        self.api = server.client(auth=tenant.auth, timeout=30)


# Every CSP violation a page meets, from its first script on (Chromium also logs them).
WATCH_CSP = """window.__cspViolations = [];
document.addEventListener('securitypolicyviolation',
  e => window.__cspViolations.push(`${e.violatedDirective} ${e.blockedURI} ${e.sample}`));"""


class Console:
    """What a page logs as an error (console errors, uncaught exceptions) and the CSP
    violations it meets; ``check`` fails on any."""

    def __init__(self, page: Any) -> None:
        self.page, self.errors = page, list[str]()
        page.add_init_script(WATCH_CSP)
        page.on("console", self._on_console)
        page.on("pageerror", lambda error: self.errors.append(f"uncaught: {error}"))

    def _on_console(self, message: Any) -> None:
        if message.type == "error":
            self.errors.append(message.text)

    def check(self, refused_forms: int = 0) -> None:
        """``refused_forms``: how many forms the test sent wrong on purpose (Chromium logs the
        400 that answers each)."""
        violations = self.page.evaluate("window.__cspViolations || []")
        refused = [e for e in self.errors if "status of 400" in e]
        others = [e for e in self.errors if "status of 400" not in e]
        assert not others and not violations, (self.page.url, self.errors, violations)
        assert len(refused) == refused_forms, self.errors
