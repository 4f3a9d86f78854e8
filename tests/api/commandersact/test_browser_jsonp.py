"""A real browser loads the JSONP look-up the way a customer's page does.

Headless Chromium (Debian's ``chromium``, driven by Playwright, no browser download) opens a
page served by a second local HTTP server; the page defines ``tC_funcEngage`` and loads the
look-up with a ``<script>`` tag: once with the TCID cookie, once with tcid and token. A
malicious callback must not run. Skips without Chromium, except under CI.
"""

from __future__ import annotations

import functools
import http.server
import os
import shutil
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from segmentd.storage.db import Database
from tests.api.commandersact.test_commandersact import LOOKUP, SiteInfo, make_site, publish
from tests.conftest import IN_CI, LiveServer, free_port, make_tenant, test_settings
from tests.support.factories import add_member

pytestmark = pytest.mark.slow

CHROMIUM = os.environ.get("SEGMENTD_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
    "--disable-sync",
]

PAGE = """<!doctype html>
<html><head><meta charset="utf-8"><title>shop</title>
<script>
  window.tC_funcEngage = function (ids) {
    document.getElementById("segments").textContent = JSON.stringify(ids);
  };
</script></head>
<body><p id="segments">none</p><p id="status">loading</p>
<script src="%(src)s"
  onload="document.getElementById('status').textContent = 'loaded'"
  onerror="document.getElementById('status').textContent = 'refused'"></script>
</body></html>
"""


def _chromium_or_skip() -> str:
    if Path(CHROMIUM).exists() or shutil.which(CHROMIUM):
        return CHROMIUM
    if IN_CI:
        pytest.fail(f"Chromium is required in CI but {CHROMIUM} is missing")
    pytest.skip("Chromium is not installed (apt-get install -y chromium)")


class _Quiet(http.server.SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:
        pass


@pytest.fixture
def pages(tmp_path: Path) -> Iterator[tuple[Path, str]]:
    """A directory served on another port: the customer's site (another origin)."""
    root = tmp_path / "site"
    root.mkdir()
    handler = functools.partial(_Quiet, directory=str(root))
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", free_port()), handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        yield root, f"http://127.0.0.1:{httpd.server_address[1]}"
    finally:
        httpd.shutdown()
        httpd.server_close()


@pytest.fixture
def world(tmp_path: Path) -> Iterator[tuple[LiveServer, Database, SiteInfo, str]]:
    """The real app on SQLite with one site whose visitor 1234 is in one segment."""
    url = f"sqlite:///{tmp_path / 'segmentd.db'}"
    db = Database(url)
    db.migrate()
    owner = make_tenant(db)
    with LiveServer(test_settings(url), start_worker=False) as live:
        with httpx.Client(base_url=live.url, auth=owner.auth) as http_client:
            site = make_site(http_client)
        member = add_member(db, owner.id, "ann@example.com", list_id=site.id, tcid="1234")
        segment = publish(db, owner.id, site.id, [member])
        yield live, db, site, segment
    db.dispose()


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    executable = _chromium_or_skip()
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=executable, args=CHROMIUM_ARGS)
        try:
            yield launched
        finally:
            launched.close()


@dataclass
class Opened:
    page: Any
    dialogs: list[str]

    def text(self, selector: str) -> str | None:
        text: str | None = self.page.text_content(selector)
        return text


def _open(browser: Any, root: Path, base: str, src: str, cookie: dict[str, str] | None) -> Opened:
    name = f"page{len(list(root.iterdir()))}.html"
    (root / name).write_text(PAGE % {"src": src.replace("&", "&amp;").replace('"', "&quot;")})
    context = browser.new_context()
    if cookie:
        context.add_cookies([cookie])
    page = context.new_page()
    dialogs: list[str] = []
    page.on("dialog", lambda dialog: (dialogs.append(dialog.message), dialog.dismiss()))
    page.goto(f"{base}/{name}")
    page.wait_for_function("document.getElementById('status').textContent !== 'loading'")
    return Opened(page, dialogs)


def test_the_page_shows_the_visitors_segments(
    browser: Any, pages: tuple[Path, str], world: tuple[LiveServer, Database, SiteInfo, str]
) -> None:
    root, base = pages
    live, _db, site, segment = world
    src = f"{live.url}{LOOKUP}?site={site.id}&callback=tC_funcEngage"
    cookie = {"name": "TCID", "value": "1234", "url": live.url}
    by_cookie = _open(browser, root, base, src, cookie)
    assert by_cookie.text("#segments") == f'["{segment}"]'
    assert by_cookie.text("#status") == "loaded"
    with_token = _open(browser, root, base, f"{src}&tcid=1234&token={site.token}", None)
    assert with_token.text("#segments") == f'["{segment}"]'
    stranger = _open(browser, root, base, src, {**cookie, "value": "999"})
    assert stranger.text("#segments") == "[]"


@pytest.mark.parametrize(
    "callback",
    [
        "tC_funcEngage;window.pwned=1;alert(1);//",
        "alert(document.domain)//",
        "tC_funcEngage\nwindow.pwned=1",
    ],
)
def test_a_malicious_callback_never_runs(
    browser: Any,
    pages: tuple[Path, str],
    world: tuple[LiveServer, Database, SiteInfo, str],
    callback: str,
) -> None:
    root, base = pages
    live, _db, site, _segment = world
    query = httpx.QueryParams({"site": site.id, "callback": callback, "tcid": "1234"})
    opened = _open(browser, root, base, f"{live.url}{LOOKUP}?{query}&token={site.token}", None)
    assert opened.text("#status") == "refused"  # a JSON 400 with nosniff is no script
    assert opened.text("#segments") == "none"
    assert opened.page.evaluate("typeof window.pwned") == "undefined"
    assert opened.dialogs == []
