"""Every write endpoint of every API family, sent strings that cannot be stored (NUL, lone
surrogates) and integers no column holds, in its body, its query and its path.

The routes come from the app itself, so a new endpoint is covered (or this test fails until it
is given a base body). No answer may be a server error; refusals come in the API's own
envelope; and afterwards the tenant's reads (fields, segments, segment pages, members) all
still answer 200, so nothing unreadable was stored. Both databases.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from tests.api.test_tenant_isolation import HOOK_URL, Seeded, seeded_server
from tests.conftest import (
    BACKENDS,
    LiveServer,
    wait_built,
)
from tests.support.ingest_helpers import native_path
from tests.support.ui_support import Ui, form_data

SURROGATE = "\ud800x"
NUL = "a\x00b"
HUGE = 2**70
BAD_VALUES: list[Any] = [SURROGATE, NUL, HUGE, -HUGE, 10**30]
BAD_PATH_IDS = [str(HUGE), "1%00", "-1", str(2**63)]
BAD_QUERY = ["\x00", str(HUGE), str(-HUGE), "1e400"]

NUMBER_CONDITION = {
    "relation": "and",
    "items": [{"field_name": "Age", "op": ">=", "value": "30"}],
}
NATIVE_CONDITION = {"all": [{"kind": "field", "field": "Age", "op": ">=", "value": "30"}]}
# One body the endpoint accepts, per write route; every part of it is then spoiled in turn.
BASE_BODIES: dict[str, Any] = {
    "POST /v1/marketing/lists/segments": {
        "segment_name": "Fuzzed",
        "type": 0,
        "condition": NUMBER_CONDITION,
        "list_id": 1,
    },
    "PUT /v1/marketing/lists/segments/{segment_id}": {
        "segment_name": "Fuzzed",
        "type": 0,
        "condition": NUMBER_CONDITION,
    },
    "DELETE /v1/marketing/lists/segments/{segment_id}": None,
    "POST /v1/marketing/lists/segments/{segment_id}/members": {"condition": NUMBER_CONDITION},
    "DELETE /v1/marketing/lists/segments/{segment_id}/members": {"member_ids": ["1", "2"]},
    "POST /v1/marketing/lists/members/imports": None,
    "POST /v1/marketing/lists/fields": {
        "field_name": "Fz",
        "field_type": 4,
        "options": ["a", "b"],
        "visible": True,
    },
    "PUT /v1/marketing/lists/fields/{field_id}": {"field_name": "City", "options": ["Paris", "x"]},
    "DELETE /v1/marketing/lists/fields/{field_id}": None,
    "POST /v1/marketing/lists/members": {
        "list_id": 1,
        "update_existing": True,
        "tag_flag": 1,
        "members": [
            {
                "email": "fz@example.com",
                "name": "Fz",
                "phone": "+331",
                "fields": {"Age": "31", "City": "Paris", "Note": "n", "Joined": "01/02/2020"},
                "tags": ["T"],
                "tcid": "77",
            }
        ],
    },
    "DELETE /v1/marketing/lists/members": {"emails": ["fz@example.com"], "list_id": 1},
    "POST /v1/marketing/lists/members/unsubscribe": {"emails": ["m1@example.com"], "list_id": 1},
    "PUT /v1/marketing/lists/tags/{tag_id}": {"tag_name": "VIP"},
    "DELETE /v1/marketing/lists/tags/{tag_id}": None,
    "POST /v1/marketing/campaigns": {"campaign_name": "C", "status": "draft", "list_id": 1},
    "PUT /v1/marketing/campaigns/{campaign_id}": {"campaign_name": "Spring"},
    "DELETE /v1/marketing/campaigns/{campaign_id}": None,
    "POST /v1/marketing/campaigns/{campaign_id}/events": {
        "events": [
            {"email": "m1@example.com", "event": "open", "time": 1_700_000_000},
            {"member_id": 1, "event": "click", "time": "2024-01-01 10:00:00"},
        ]
    },
    "POST /v1/segments/preview": {"type": 0, "condition": NUMBER_CONDITION, "list_id": 1},
    "POST /v1/sites": {"name": "S"},
    "PUT /v1/sites/{site_id}": {"name": "S", "allowed_origins": ["https://a.example"]},
    "POST /v1/sites/{site_id}/token/rotate": None,
    "POST /v1/segments": {"name": "Fz native", "condition": NATIVE_CONDITION, "list_id": 1},
    "POST /v1/segments/count": {"condition": NATIVE_CONDITION, "list_id": 1},
    "PUT /v1/segments/{segment_id}": {"name": "Fz put", "condition": NATIVE_CONDITION},
    "PATCH /v1/segments/{segment_id}": {"name": "Fz patch"},
    "DELETE /v1/segments/{segment_id}": None,
    "POST /v1/segments/{segment_id}/rebuild": None,
    "POST /v1/segments/{segment_id}/members": {"emails": ["m1@example.com"], "member_ids": ["1"]},
    "DELETE /v1/segments/{segment_id}/members": {"emails": ["m1@example.com"]},
    "POST /v1/segments/{segment_id}/members.csv": None,
    "POST /v1/webhooks": {"url": HOOK_URL, "events": ["entered", "left"]},
    "PUT /v1/webhooks/{webhook_id}": {"url": HOOK_URL, "events": ["left"], "enabled": True},
    "DELETE /v1/webhooks/{webhook_id}": None,
    "POST /v1/webhooks/{webhook_id}/secret/rotate": None,
    "POST /v1/webhooks/{webhook_id}/deliveries/{delivery_id}/replay": None,
}
# Every UI form passes one dependency (``checked_form``); these exercise it on each page kind.
UI_FORMS: dict[str, list[tuple[str, str]]] = {
    "/ui/segments/new": [
        ("segment_name", "Fz"),
        ("join_r", "all"),
        ("leaf", "r-0"),
        ("subject_r-0", "field:Note"),
        ("op_r-0", "contain"),
        ("value_r-0", "x"),
    ],
    "/ui/fields": [("field_name", "Fui"), ("field_type", "0")],
    "/ui/campaigns": [("campaign_name", "Fz"), ("status", "draft")],
    "/ui/builder/preview": [("leaf", "r-0"), ("subject_r-0", "field:Note"), ("value_r-0", "x")],
    "/ui/language": [("lang", "en")],
}


@pytest.fixture(scope="module", params=BACKENDS)
def seeded(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[LiveServer, Seeded]]:
    for server, _http, seeded_tenant in seeded_server(
        request.param, tmp_path_factory.mktemp("fuzz_inputs")
    ):
        yield server, seeded_tenant


def write_routes(server: LiveServer) -> list[tuple[str, str]]:
    """(method, path) of every write endpoint of the app's API families, from its own
    OpenAPI document (built from its routes)."""
    document = server.app.openapi()
    return [
        (method.upper(), path)
        for path, operations in document["paths"].items()
        for method in operations
        if method.upper() not in ("GET", "HEAD")
    ]


def spoiled(value: Any) -> Iterator[Any]:
    """``value`` with one leaf (or one key) at a time replaced by each bad value."""
    if isinstance(value, dict):
        for key, child in value.items():
            for bad in spoiled(child):
                yield {**value, key: bad}
        if value:
            first = next(iter(value))
            yield {**{k: v for k, v in value.items() if k != first}, first + "\x00": value[first]}
    elif isinstance(value, list):
        for index, child in enumerate(value):
            for bad in spoiled(child):
                yield [*value[:index], bad, *value[index + 1 :]]
    else:
        yield from BAD_VALUES


def assert_refused_in_envelope(answer: httpx.Response, what: str) -> None:
    assert answer.status_code < 500, f"{what}: {answer.status_code} {answer.text[:300]}"
    if answer.status_code >= 400:
        body = answer.json()
        if native_path(answer.request.url.path):  # the native envelope
            assert set(body) == {"code", "message", "path"}, f"{what}: {body}"
            assert body["code"] in (30000, 30035, 30036), f"{what}: {body}"
        elif answer.request.url.path.startswith("/v1/"):
            assert set(body) == {"code", "message"}, f"{what}: {body}"
            assert body["code"] in (30000, 30035, 30036), f"{what}: {body}"
        else:
            assert set(body) == {"error", "message"}, f"{what}: {body}"


def _send(http: httpx.Client, method: str, path: str, body: Any, **kwargs: Any) -> httpx.Response:
    # json.dumps spells a lone surrogate as the \ud800 escape, as a hostile client would.
    content = None if body is None else json.dumps(body)
    headers = {"content-type": "application/json"} if content is not None else {}
    return http.request(method, path, content=content, headers=headers, **kwargs)


def _query_names(document: dict[str, Any], method: str, path: str) -> list[str]:
    operation = document["paths"][path][method.lower()]
    return [p["name"] for p in operation.get("parameters", []) if p["in"] == "query"]


def test_every_write_route_has_a_base_body(seeded: tuple[LiveServer, Seeded]) -> None:
    server, _ = seeded
    assert {f"{method} {path}" for method, path in write_routes(server)} == set(BASE_BODIES)


def test_write_endpoints_refuse_unstorable_input(seeded: tuple[LiveServer, Seeded]) -> None:
    server, seed = seeded
    with server.client(auth=seed.tenant.auth, timeout=30) as http:
        document = http.get("/openapi.json").json()
        for method, path in write_routes(server):
            label = f"{method} {path}"
            base = BASE_BODIES[label]
            real = seed.fill(path)
            sent = 0
            for body in spoiled(base) if base is not None else []:
                assert_refused_in_envelope(_send(http, method, real, body), f"{label} {body!r}")
                sent += 1
            for name in _query_names(document, method, path):
                for bad in BAD_QUERY:
                    answer = _send(http, method, real, base, params={name: bad})
                    assert_refused_in_envelope(answer, f"{label} ?{name}={bad!r}")
                    assert answer.status_code == 400, f"{label} ?{name}={bad!r}: {answer.text}"
                    sent += 1
            if "{" in path:
                for bad in BAD_PATH_IDS:
                    spoiled_path = path.split("{")[0] + bad + path.split("}", 1)[1]
                    answer = _send(http, method, seed.fill(spoiled_path), base)
                    assert_refused_in_envelope(answer, f"{label} with id {bad}")
                    assert answer.status_code in (400, 404), f"{label} {bad}: {answer.text}"
                    sent += 1
            assert sent, label
        assert_reads_answer(http)


def test_ui_forms_refuse_unstorable_input(seeded: tuple[LiveServer, Seeded]) -> None:
    server, seed = seeded
    ui = Ui(server, *seed.tenant.auth)
    try:
        for path, fields in UI_FORMS.items():
            for index in range(len(fields)):
                name, value = fields[index]
                for bad_pair in ((name, value + "\x00"), (name + "\x00", value)):
                    pairs = [*fields[:index], bad_pair, *fields[index + 1 :]]
                    data = form_data([("csrf_token", ui.csrf), *pairs])
                    answer = ui.http.post(path, data=data)
                    assert answer.status_code == 400, f"{path} {bad_pair!r}: {answer.text[:200]}"
                    assert "text/html" in answer.headers["content-type"]
                    assert "NUL" in answer.text
        assert ui.get("/ui/segments?q=%00").status_code == 400
    finally:
        ui.close()
    with server.client(auth=seed.tenant.auth, timeout=30) as http:
        assert_reads_answer(http)


def assert_reads_answer(http: httpx.Client) -> None:
    """Everything the tenant stored can still be read (no 500 on any list or page)."""
    for path in (
        "/v1/marketing/lists/fields",
        "/v1/marketing/lists/segments?limit=100",
        "/v1/marketing/lists/members?limit=100",
        "/v1/marketing/lists/tags?limit=100",
        "/v1/marketing/campaigns?limit=100",
        "/v1/sites",
    ):
        answer = http.get(path)
        assert answer.status_code == 200, f"{path}: {answer.text[:300]}"
    segments = http.get("/v1/marketing/lists/segments?limit=100").json()["result"]
    assert segments
    for segment in segments:
        segment_id = segment["segment_id"]
        detail = http.get(f"/v1/marketing/lists/segments/{segment_id}")
        assert detail.status_code == 200, detail.text[:300]
        # Every build ends complete: nothing stored stops a build from reading its condition.
        assert wait_built(http, segment_id)["status"] == "2", segment_id
        members = http.post(f"/v1/marketing/lists/segments/{segment_id}/members?limit=100")
        assert members.status_code == 200, members.text[:300]


@pytest.mark.parametrize(
    ("path", "body", "message"),
    [
        (
            "/v1/marketing/lists/fields",
            {"field_name": "Drop", "field_type": 4, "options": ["a", "\ud800x"]},
            "[options[1]]:must not contain a lone surrogate",
        ),
        (
            "/v1/marketing/lists/members",
            {"update_existing": True, "members": [{"email": "a@b.c", "fields": {"City": "\x00"}}]},
            "[members[0].fields.City]:must not contain the NUL character",
        ),
        (
            "/v1/marketing/lists/members/unsubscribe",
            {"emails": ["a\x00@example.com"]},
            "[emails[0]]:must not contain the NUL character",
        ),
        (
            "/v1/sites",
            {"name": "\ud83d"},
            "[name]:must not contain a lone surrogate",
        ),
    ],
)
def test_the_error_names_the_string(
    seeded: tuple[LiveServer, Seeded], path: str, body: Any, message: str
) -> None:
    server, seed = seeded
    with server.client(auth=seed.tenant.auth, timeout=30) as http:
        answer = _send(http, "POST", path, body)
    assert answer.status_code == 400
    assert answer.json()["code"] == 30035
    assert answer.json()["message"].startswith(message)


def test_query_and_path_strings_are_checked(seeded: tuple[LiveServer, Seeded]) -> None:
    server, seed = seeded
    with server.client(auth=seed.tenant.auth, timeout=30) as http:
        listed = http.get("/v1/marketing/lists/segments?segment_name=a%00")
        segment = http.get("/v1/marketing/lists/segments/ab%00cd")
    assert listed.status_code == 400
    assert listed.json()["message"].startswith("[segment_name]:must not contain the NUL")
    assert segment.status_code == 400
    assert segment.json()["message"].startswith("[segment_id]:must not contain the NUL")


def test_unknown_query_parameters_are_refused(seeded: tuple[LiveServer, Seeded]) -> None:
    """The API takes the query parameters its document lists, and no others."""
    server, seed = seeded
    with server.client(auth=seed.tenant.auth, timeout=30) as http:
        known = http.get("/v1/marketing/lists/segments", params={"segmentName": "x", "limit": 5})
        unknown = http.get("/v1/marketing/lists/segments", params={"limt": 5})
        ui = http.get("/ui/login", params={"next": "/ui/segments", "other": "1"})
    assert known.status_code == 200
    assert unknown.status_code == 400
    assert unknown.json() == {"code": 30035, "message": "[limt]:unknown query parameter"}
    assert ui.status_code == 200
