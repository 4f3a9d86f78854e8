"""The look-up's fast path and reader modes answer exactly as the documented route does.

``LookupFastPath`` answers ``GET /api/dms/segmentation/segments`` before FastAPI's router;
the route stays for OpenAPI (and anything the fast path lets through). These tests compare
both on the real app and database, check the query parser against Starlette's, run the
reader on the event loop's thread (SQLite's default) and on reader threads, and serve
``segmentd serve --workers 2``.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import quote

import httpx
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from starlette.datastructures import QueryParams

from segmentd.api.app import create_app
from segmentd.api.commandersact.fastpath import parse_query
from segmentd.membership.visitor_reader import VisitorReader
from segmentd.storage.db import Database
from segmentd.storage.sites import get_site
from tests.api.commandersact.test_commandersact import LOOKUP, make_site, publish
from tests.cli.test_cli import parse_credentials, run_cli, serve, started  # noqa: F401
from tests.conftest import LiveServer, make_tenant, test_settings, wait_built
from tests.support.factories import add_member

# --- the query string ----------------------------------------------------------------------

_QUERY_TEXT = st.text(alphabet=st.sampled_from("ab=&;+% 2Fé0x_$\n"), max_size=30)


@given(_QUERY_TEXT)
@settings(max_examples=400, deadline=None)
def test_parse_query_reads_what_starlette_reads(text: str) -> None:
    raw = text.encode("utf-8")
    assert parse_query(raw) == dict(QueryParams(raw.decode("latin-1")))


@given(st.lists(st.tuples(st.text(max_size=8), st.text(max_size=8)), max_size=5))
@settings(max_examples=200, deadline=None)
def test_parse_query_decodes_escapes_as_starlette(pairs: list[tuple[str, str]]) -> None:
    raw = "&".join(f"{quote(name)}={quote(value)}" for name, value in pairs).encode("ascii")
    assert parse_query(raw) == dict(QueryParams(raw.decode("latin-1")))


# --- fast path against the route -----------------------------------------------------------


@dataclass
class Fixture:
    url: str
    db: Database
    site: int
    token: str
    segment: str


@pytest.fixture(scope="module")
def fixture(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Fixture]:
    url = f"sqlite:///{tmp_path_factory.mktemp('fastpath') / 'segmentd.db'}"
    database = Database(url)
    database.migrate()
    owner = make_tenant(database)
    with (
        LiveServer(test_settings(url), start_worker=False) as live,
        live.client(auth=owner.auth) as http,
    ):
        site = make_site(http)
    member = add_member(database, owner.id, "ann@example.com", list_id=site.id, tcid="1234")
    segment = publish(database, owner.id, site.id, [member])
    yield Fixture(url, database, site.id, site.token, segment)
    database.dispose()


def _asgi_get(app: Any, target: Any, query: str, headers: list[tuple[bytes, bytes]]) -> Any:
    """One GET through ``target`` (the whole app, or its router alone), as an ASGI server."""
    scope = {
        "type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": "GET",
        "scheme": "http", "path": LOOKUP, "raw_path": LOOKUP.encode(), "root_path": "",
        "query_string": query.encode("latin-1"), "headers": [(b"host", b"test"), *headers],
        "client": ("127.0.0.1", 1), "server": ("test", 80), "app": app,
    }  # fmt: skip
    sent: list[dict[str, Any]] = []

    async def receive() -> dict[str, Any]:
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    async def run() -> None:
        await target(scope, receive, send)

    return sent, run


CASES = [
    ("site={site}&callback=cb", [(b"cookie", b"TCID=1234")]),
    ("site={site}&callback=cb", [(b"cookie", b"a=1; TCID=1234; b")]),
    ("site={site}&callback=cb", [(b"cookie", b"TCID=999")]),
    ("site={site}&callback=cb", [(b"cookie", b"TCID=12x")]),
    ("site={site}&callback=cb", []),
    ("site={site}&callback=cb&tcid=1234&token={token}", []),
    ("site={site}&callback=cb&tcid=1234&token=wrong", []),
    ("site={site}&callback=cb&tcid=1234", []),
    ("site={site}&callback=cb&tcid=&token=", [(b"cookie", b"TCID=1234")]),
    ("site={site}&callback=a%2Bb", []),
    ("site={site}&callback=cb%0A", []),
    ("site={site}&callback=%24ok_1&callback=cb", [(b"cookie", b"TCID=1234")]),
    ("site=99999&callback=cb", []),
    ("site=x1&callback=cb", []),
    ("callback=cb", []),
    ("site={site}", []),
    ("site={site}&callback=cb&tcid=12a&token={token}", []),
]


@pytest.mark.parametrize(("query", "headers"), CASES)
def test_fast_path_answers_as_the_route(
    fixture: Fixture, query: str, headers: list[tuple[bytes, bytes]]
) -> None:
    app = create_app(test_settings(fixture.url), start_worker=False)
    query = query.format(site=fixture.site, token=fixture.token)

    async def both() -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
        async with app.router.lifespan_context(app):
            fast, run_fast = _asgi_get(app, app, query, headers)
            routed, run_routed = _asgi_get(app, app.router, query, headers)
            await run_fast()
            await run_routed()
            return fast, routed

    fast, routed = asyncio.run(both())
    # Every response of the app carries its request id (``api.request_log``), the router's not.
    ids = [value for name, value in fast[0]["headers"] if name == b"x-request-id"]
    assert len(ids) == 1
    fast[0] = {**fast[0], "headers": [h for h in fast[0]["headers"] if h[0] != b"x-request-id"]}
    assert fast == routed
    assert fast[0]["status"] in (200, 400, 401, 404)
    if "TCID=1234" in query + repr(headers) and fast[0]["status"] == 200:
        assert fast[1]["body"] in (b"/**/cb([]);", f'/**/cb(["{fixture.segment}"]);'.encode())


def test_fast_path_leaves_other_methods_and_paths_to_the_router(fixture: Fixture) -> None:
    params = {"site": fixture.site, "callback": "cb"}
    with (
        LiveServer(test_settings(fixture.url), start_worker=False) as live,
        live.client() as http,
    ):
        assert http.post(LOOKUP, params=params).status_code == 405
        assert http.get(LOOKUP + "/", params=params).status_code in (307, 404)


def test_the_body_limit_still_sees_look_ups(fixture: Fixture) -> None:
    app = create_app(test_settings(fixture.url), start_worker=False)
    query = f"site={fixture.site}&callback=cb"
    headers = [(b"cookie", b"TCID=1234"), (b"content-length", b"%d" % 10**12)]

    async def one() -> list[dict[str, Any]]:
        async with app.router.lifespan_context(app):
            sent, run = _asgi_get(app, app, query, headers)
            await run()
            return sent

    assert asyncio.run(one())[0]["status"] == 413


# --- reader modes -------------------------------------------------------------------------


@pytest.mark.parametrize("inline", [True, False])
def test_reader_modes_answer_alike(fixture: Fixture, inline: bool) -> None:
    with fixture.db.read() as conn:
        site = get_site(conn, fixture.site)
    assert site is not None
    reader = VisitorReader(fixture.db, inline=inline)

    async def many() -> list[list[str]]:
        tcids = ["1234", "5", "1234", "77", *["1234"] * 100]
        return await asyncio.gather(*(reader.segment_ids(site, tcid) for tcid in tcids))

    try:
        answers = asyncio.run(many())
    finally:
        reader.close()
    assert answers[0] == answers[2] == [fixture.segment]
    assert answers[1] == answers[3] == []
    assert all(answer == [fixture.segment] for answer in answers[4:])


# --- several server processes -------------------------------------------------------------


@pytest.mark.slow
def test_serve_with_two_workers(tmp_path: Path, started: list[Any]) -> None:  # noqa: F811
    """Two processes on one port, each with its build worker: a build runs once, and every
    process answers the look-up from the published membership."""
    database = f"sqlite:///{tmp_path / 'segmentd.db'}"
    user, key = parse_credentials(
        run_cli(tmp_path, "credentials", "create", "--database", database)
    )
    server = serve(started, tmp_path, "--database", database, "--workers", "2")
    with httpx.Client(base_url=server.url, auth=(user, key), timeout=30) as http:
        site = make_site(http)
        field = {"field_name": "Age", "field_type": 1, "format": ".0"}
        assert http.post("/v1/marketing/lists/fields", json=field).is_success
        ann = {"email": "a@example.com", "tcid": "42", "fields": {"Age": "30"}}
        body = {"update_existing": True, "list_id": site.id, "members": [ann]}
        member = http.post("/v1/marketing/lists/members", json=body)
        assert member.status_code == 200 and not member.json()["result"]["errors"], member.text
        condition = {"relation": "and", "items": [{"field_name": "Age", "op": ">=", "value": "18"}]}
        segment = http.post(
            "/v1/marketing/lists/segments",
            json={
                "segment_name": "adults",
                "type": 0,
                "list_id": site.id,
                "condition": condition,
                "commandersact_id": "f92c4f26",  # kept from Commanders Act, stored upper case
            },
        )
        assert segment.status_code == 200, segment.text
        wait_built(http, segment.json()["result"]["segment_id"], timeout=120)
    for _ in range(20):  # a new connection each time: both processes answer
        with httpx.Client(base_url=server.url, timeout=30) as anon:
            params = {"site": site.id, "callback": "cb", "tcid": "42", "token": site.token}
            answer = anon.get(LOOKUP, params=params)
            assert answer.status_code == 200, answer.text + server.output()
            assert json.loads(answer.text[len("/**/cb(") : -2]) == ["F92C4F26"], server.output()
    code = server.terminate()
    assert code in (0, -15), f"exit {code}:\n{server.output()}"
