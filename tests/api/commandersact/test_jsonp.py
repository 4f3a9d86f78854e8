"""The pure parts of the look-up: JSONP writer, origin rules, token keys, log redaction."""

from __future__ import annotations

import logging
import os
import stat
from pathlib import Path

import pytest

from segmentd.api.app import create_app
from segmentd.api.commandersact.jsonp import is_valid_callback, jsonp_body
from segmentd.api.commandersact.redaction import ACCESS_LOGGER, TokenRedactingFilter
from segmentd.api.common.origins import normalize_origin, origin_allowed
from segmentd.secrets import SealError, TokenKeys, read_or_create_secret, secret_file_path
from segmentd.settings import Settings

# --- callbacks and the JSONP body ---------------------------------------------------------


@pytest.mark.parametrize("name", ["cb", "tC_funcEngage", "$", "_", "a9", "$jq_1", "A" * 128])
def test_plain_ascii_identifiers_are_callbacks(name: str) -> None:
    assert is_valid_callback(name)


@pytest.mark.parametrize(
    "name",
    [
        "",
        "9cb",
        "cb\n",  # re.match("^...$") would take it
        "cb\r",
        "\ncb",
        "cb ",
        "cbé",  # \w without re.ASCII would take it
        "ｃｂ",
        "cb٣",
        "a.b",
        "a-b",
        "cb()",
        "cb;x",
        "a" * 129,
        "cb\u2028",
        "cb\x00",
    ],
)
def test_anything_else_is_not_a_callback(name: str) -> None:
    assert not is_valid_callback(name)
    with pytest.raises(ValueError):
        jsonp_body(name, [])


def test_body_is_the_spec_shape_byte_for_byte() -> None:
    assert jsonp_body("tC_funcEngage", ["F92C4F26"]) == b'/**/tC_funcEngage(["F92C4F26"]);'
    assert jsonp_body("cb", []) == b"/**/cb([]);"


def test_json_in_the_body_is_escaped_as_ascii() -> None:
    body = jsonp_body("cb", ["é</script>\u2028"])
    assert body == b'/**/cb(["\\u00e9</script>\\u2028"]);'
    assert body.isascii()


# --- allowed origins ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("https://Shop.Example", "https://shop.example"),
        ("https://shop.example/", "https://shop.example"),
        ("https://shop.example:443", "https://shop.example"),
        ("http://shop.example:80", "http://shop.example"),
        ("http://localhost:8080", "http://localhost:8080"),
        ("http://[::1]:3000", "http://[::1]:3000"),
        ("shop.example", None),
        ("ftp://shop.example", None),
        ("https://shop.example/path", None),
        ("https://shop.example/?q=1", None),
        ("https://user@shop.example", None),
        ("https://shop.example:99999", None),
        ("https://", None),
        ("null", None),
    ],
)
def test_origins_are_normalised(value: str, expected: str | None) -> None:
    assert normalize_origin(value) == expected


ALLOWED = ("https://shop.example",)


@pytest.mark.parametrize(
    ("origin", "referer", "tokened", "allowed"),
    [
        (None, "https://shop.example/page?x=1", False, True),
        ("https://shop.example", None, False, True),
        (None, "https://SHOP.example:443/", False, True),
        (None, "https://evil.example/", False, False),
        (None, "http://shop.example/", False, False),
        ("null", "https://shop.example/", False, False),  # Origin, when sent, decides
        ("https://evil.example", "https://shop.example/", True, False),
        (None, None, False, False),  # a page hiding its referrer
        (None, None, True, True),  # a server holding the token
        (None, "garbage", True, False),
    ],
)
def test_origin_rules(
    origin: str | None, referer: str | None, tokened: bool, allowed: bool
) -> None:
    assert origin_allowed(ALLOWED, origin, referer, tokened=tokened) is allowed


@pytest.mark.parametrize("tokened", [False, True])
def test_an_empty_list_allows_any_page(tokened: bool) -> None:
    assert origin_allowed((), "https://evil.example", None, tokened=tokened)
    assert origin_allowed((), None, None, tokened=tokened)


# --- token keys ---------------------------------------------------------------------------


def test_digest_is_keyed_and_stable() -> None:
    keys, other = TokenKeys("secret one"), TokenKeys("secret two")
    token = "WvNIX8955cnZ7WF0f632s0Wb99Ql3rtA"
    assert keys.digest(token) == keys.digest(token)
    assert len(keys.digest(token)) == 64
    assert keys.digest(token) != other.digest(token)
    assert keys.digest(token) != keys.digest(token[:-1] + "B")


def test_sealed_tokens_open_only_with_the_same_secret_and_site() -> None:
    keys = TokenKeys("secret one")
    token = "WvNIX8955cnZ7WF0f632s0Wb99Ql3rtA"
    sealed = keys.seal(token, 7)
    assert token not in sealed
    assert keys.seal(token, 7) != sealed  # a fresh nonce every time
    assert keys.unseal(sealed, 7) == token
    for wrong_keys, site in [(TokenKeys("secret two"), 7), (keys, 8)]:
        with pytest.raises(SealError):
            wrong_keys.unseal(sealed, site)
    tampered = sealed[:-4] + ("AAAA" if not sealed.endswith("AAAA") else "BBBB")
    with pytest.raises(SealError):
        keys.unseal(tampered, 7)


def test_secret_file_is_created_private_and_reused(tmp_path: Path) -> None:
    path = secret_file_path(f"sqlite:///{tmp_path / 'segmentd.db'}")
    assert path == tmp_path / "segmentd.db.secret"
    first = read_or_create_secret(path)
    assert len(first) >= 32
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    assert read_or_create_secret(path) == first
    assert [p.name for p in tmp_path.iterdir()] == ["segmentd.db.secret"]  # no draft left


@pytest.mark.parametrize(
    "url", ["postgresql://postgres@127.0.0.1/x", "sqlite://", "sqlite:///:memory:"]
)
def test_secret_file_without_a_database_file_is_in_the_user_data_directory(
    url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Never the working directory: a server started elsewhere must find the same secret."""
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "data"))
    monkeypatch.chdir(tmp_path)
    path = secret_file_path(url)
    assert path.parent == tmp_path / "data" / "segmentd"
    assert path.name.endswith(".secret")
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)
    assert secret_file_path(url) == path


def test_each_database_has_its_own_secret_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path))
    shop = secret_file_path("postgresql://app:one@db.example:5432/shop")
    assert shop.name.startswith("shop-")
    assert secret_file_path("postgresql+psycopg://app:two@db.example:5432/shop") == shop
    assert secret_file_path("postgresql://app@db.example:5432/other") != shop
    assert secret_file_path("postgresql://app@db2.example:5432/shop") != shop
    # A relative SQLite path is made absolute once, from where the process started.
    monkeypatch.chdir(tmp_path)
    assert secret_file_path("sqlite:///./x.db") == tmp_path / "x.db.secret"


# --- tokens stay out of logs --------------------------------------------------------------


@pytest.mark.parametrize(
    "path",
    [
        "/api/dms/segmentation/segments?site=1&callback=cb&tcid=5&token=SECRETTOKEN",
        "/api/dms/segmentation/segments/list?token=SECRETTOKEN&site=1",
        "/x?site=1&TOKEN=SECRETTOKEN",
    ],
)
def test_access_log_lines_lose_their_tokens(path: str) -> None:
    record = logging.LogRecord(
        ACCESS_LOGGER, logging.INFO, __file__, 1, '%s - "%s %s HTTP/%s" %d',
        ("127.0.0.1:5000", "GET", path, "1.1", 200), None,
    )  # fmt: skip
    assert TokenRedactingFilter().filter(record)
    line = record.getMessage()
    assert "SECRETTOKEN" not in line
    assert "token=[redacted]" in line.lower()
    assert "site=1" in line


def test_the_app_installs_the_filter_on_uvicorns_access_log() -> None:
    create_app(Settings(database_url="sqlite://", secret_key="x"), start_worker=False)
    filters = logging.getLogger(ACCESS_LOGGER).filters
    assert sum(isinstance(f, TokenRedactingFilter) for f in filters) == 1
