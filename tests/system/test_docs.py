"""The documentation: the offline /docs page, generated docs kept fresh, README requests real."""

from __future__ import annotations

import re
import shlex
import shutil
from collections.abc import Iterator
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import urljoin, urlsplit

import httpx
import pytest
from starlette.routing import Match

from segmentd import docgen
from segmentd.api.app import create_app
from segmentd.settings import Settings
from tests.conftest import LiveServer

ROOT = Path(__file__).resolve().parents[2]
DOCS = ROOT / "docs"
README = ROOT / "README.md"
MARKDOWN = [README, *sorted(DOCS.glob("*.md"))]


class _References(HTMLParser):
    """Every URL a page makes the browser fetch: script src, link href, img src."""

    def __init__(self) -> None:
        super().__init__()
        self.urls: list[str] = []
        self.inline_scripts: list[str] = []
        self._in_script = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        wanted = {"script": "src", "link": "href", "img": "src", "iframe": "src"}.get(tag)
        values = dict(attrs)
        if wanted and values.get(wanted):
            self.urls.append(str(values[wanted]))
        self._in_script = tag == "script" and not values.get("src")

    def handle_data(self, data: str) -> None:
        if self._in_script:
            self.inline_scripts.append(data)

    def handle_endtag(self, tag: str) -> None:
        self._in_script = False


@pytest.fixture(scope="module")
def docs_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    database = tmp_path_factory.mktemp("docs") / "segmentd.db"
    with LiveServer(Settings(database_url=f"sqlite:///{database}"), start_worker=False) as live:
        yield live


# --- /docs works without the internet --------------------------------------------------------


def test_docs_page_fetches_nothing_from_another_host(docs_server: LiveServer) -> None:
    page = httpx.get(f"{docs_server.url}/docs", timeout=30)
    assert page.status_code == 200
    assert page.headers["content-type"].startswith("text/html")
    references = _References()
    references.feed(page.text)

    assert references.urls, "the page references no assets"
    assert not re.search(r"https?://", page.text), "the page names another host"
    for url in references.urls:
        parts = urlsplit(urljoin(f"{docs_server.url}/docs", url))
        assert parts.netloc == f"127.0.0.1:{docs_server.port}", url
        asset = httpx.get(parts.geturl(), timeout=30)
        assert asset.status_code == 200, url
        assert asset.content, url


def test_docs_page_loads_the_served_openapi_spec(docs_server: LiveServer) -> None:
    page = httpx.get(f"{docs_server.url}/docs", timeout=30).text
    assert "url: '/openapi.json'" in page
    spec = httpx.get(f"{docs_server.url}/openapi.json", timeout=30)
    assert spec.status_code == 200
    # Swagger UI 5 is the first to read OpenAPI 3.1, which FastAPI emits.
    assert spec.json()["openapi"].startswith("3.1")


@pytest.mark.parametrize("path", ["/docs/assets/no-such-file.js", "/docs/assets/../settings.py"])
def test_docs_assets_serve_only_swagger_files(docs_server: LiveServer, path: str) -> None:
    assert httpx.get(f"{docs_server.url}{path}", timeout=30).status_code == 404


# --- generated docs --------------------------------------------------------------------------


def test_generated_docs_are_fresh() -> None:
    stale = docgen.stale_files(DOCS)
    assert not stale, f"run `make docs`: stale {[str(p) for p in stale]}"


@pytest.mark.parametrize(
    ("name", "edit"),
    [
        (docgen.CONFIGURATION, lambda text: text.replace("SEGMENTD_DATABASE_URL", "X")),
        (docgen.CONDITIONS, lambda text: text.replace("`does not contain`", "`x`", 1)),
    ],
)
def test_a_hand_edit_of_generated_docs_is_caught(tmp_path: Path, name: str, edit: object) -> None:
    shutil.copytree(DOCS, tmp_path / "docs")
    target = tmp_path / "docs" / name
    target.write_text(edit(target.read_text()))  # type: ignore[operator]
    assert docgen.stale_files(tmp_path / "docs") == [target]
    assert docgen.main(["--docs", str(tmp_path / "docs")]) == 0
    assert docgen.stale_files(tmp_path / "docs") == []


def test_every_setting_has_a_documented_variable() -> None:
    text = (DOCS / docgen.CONFIGURATION).read_text()
    for name, info in Settings.model_fields.items():
        assert f"`SEGMENTD_{name.upper()}`" in text
        assert info.description, f"Settings.{name} needs a description for the docs"


# --- README and links ------------------------------------------------------------------------


def test_readme_starts_with_the_two_setup_commands() -> None:
    head = "\n".join(README.read_text().splitlines()[:12])
    assert head.startswith("# segmentd")
    assert "make run" in head
    assert "make test" in head


@pytest.mark.parametrize("document", MARKDOWN, ids=lambda path: path.name)
def test_relative_links_point_at_files(document: Path) -> None:
    for target in re.findall(r"\]\(([^)#\s]+)(?:#[^)]*)?\)", document.read_text()):
        if re.match(r"[a-z]+:", target):
            continue
        assert (document.parent / target).exists(), f"{document.name} links to missing {target}"


def _curl_commands(text: str) -> list[list[str]]:
    """The words of every curl command in the shell blocks of a Markdown text."""
    commands = []
    for block in re.findall(r"^```(?:sh|bash|shell)\n(.*?)^```", text, flags=re.M | re.S):
        for chunk in re.split(r"^(?=curl )", block, flags=re.M):
            if chunk.startswith("curl "):
                commands.append(shlex.split(chunk.replace("\\\n", " "), comments=True))
    return commands


def _request(words: list[str]) -> tuple[str, str]:
    """(method, path) of one curl command, shell variables in the path made plain."""
    url = next(w for w in words if w.startswith("http://127.0.0.1:8000"))
    method = words[words.index("-X") + 1] if "-X" in words else "GET"
    if "-X" not in words and any(w in words for w in ("-d", "--data", "--json")):
        method = "POST"
    return method, re.sub(r"\$\{?\w+\}?", "x", urlsplit(url).path)


def test_readme_requests_name_real_endpoints() -> None:
    requests = [_request(words) for words in _curl_commands(README.read_text())]
    assert len(requests) >= 10
    app = create_app(Settings(database_url="sqlite://"), start_worker=False)
    for method, path in requests:
        scope = {"type": "http", "method": method, "path": path, "root_path": ""}
        matches = [route.matches(scope)[0] for route in app.routes]
        assert Match.FULL in matches, f"README: no endpoint for {method} {path}"


def _named_tests(text: str) -> Iterator[tuple[str, str]]:
    """``(file, test)`` for each ``tests/file.py::test`` in ``text``; a bare ``::test`` names
    a test of the file named last before it."""
    current = ""
    for match in re.finditer(r"(tests/[\w/]+\.py)(?:\)`|`)?(?:::(\w+))?|`::(\w+)", text):
        if match[1]:
            current = match[1]
        name = match[2] or match[3]
        if name and current:
            yield current, name


def test_reliability_names_only_tests_that_exist() -> None:
    """Each guarantee in docs/reliability.md names its test: the name must be a real one."""
    named = list(_named_tests((DOCS / "reliability.md").read_text()))
    assert len(named) > 50
    for path, name in named:
        source = (ROOT / path).read_text()
        assert re.search(rf"^(async )?def {name}\(", source, flags=re.M), f"{path}::{name}"
