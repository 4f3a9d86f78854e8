"""Structured logs and request ids on the real app: one JSON object a line through the
handler ``segmentd serve`` installs (``log_setup``), a request id echoed and carried by every
record of the request, and no credential in any line."""

from __future__ import annotations

import io
import json
import logging
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from segmentd import log_setup
from segmentd.storage.db import Database
from tests.conftest import AppServer, Tenant
from tests.conftest import test_settings as settings_for

LOOKUP = "/api/dms/segmentation/segments"
LIST = "/api/dms/segmentation/segments/list"
METRICS_TOKEN = "metrics-bearer-0123456789"


class Captured:
    def __init__(self) -> None:
        self.stream = io.StringIO()

    def lines(self) -> list[dict[str, Any]]:
        return [json.loads(line) for line in self.stream.getvalue().splitlines()]

    def text(self) -> str:
        return self.stream.getvalue()


@pytest.fixture
def logged(db: Database, db_url: str) -> Iterator[tuple[AppServer, Captured]]:
    """The app, with every record (DEBUG up) written as ``segmentd serve`` writes them."""
    settings = settings_for(db_url, metrics_token=METRICS_TOKEN)
    captured = Captured()
    handler = log_setup.handler(settings, captured.stream)
    root = logging.getLogger()
    level = root.level
    root.addHandler(handler)
    root.setLevel(logging.DEBUG)
    try:
        with AppServer(settings) as app:
            yield app, captured
    finally:
        root.removeHandler(handler)
        root.setLevel(level)


def request_lines(captured: Captured) -> list[dict[str, Any]]:
    return [line for line in captured.lines() if line["logger"] == "segmentd.requests"]


def test_a_well_formed_request_id_is_kept_and_echoed(
    logged: tuple[AppServer, Captured], tenant: Tenant
) -> None:
    app, captured = logged
    with app.client(auth=tenant.auth) as http:
        answer = http.get("/v1/sites", headers={"X-Request-ID": "req-42.abc:7"})
        assert answer.headers["x-request-id"] == "req-42.abc:7"
        for bad in ("has space", "x" * 129, "é".encode(), ""):
            fresh = http.get("/healthz", headers={"X-Request-ID": bad})
            echoed = fresh.headers["x-request-id"]
            assert echoed != bad and len(echoed) == 32 and int(echoed, 16) >= 0
        assert http.get("/healthz").headers["x-request-id"] != echoed
    lines = request_lines(captured)
    first = next(line for line in lines if line["request_id"] == "req-42.abc:7")
    assert first["method"] == "GET" and first["route"] == "/v1/sites"
    assert first["status"] == 200 and first["duration_ms"] > 0
    assert {"time", "level", "message"} <= first.keys()


def test_every_line_is_json_and_no_credential_is_ever_written(
    logged: tuple[AppServer, Captured], tenant: Tenant
) -> None:
    app, captured = logged
    with app.client(auth=tenant.auth) as http:
        site = http.get("/v1/sites").json()["result"][0]["site_id"]
        site_token = http.get(f"/v1/sites/{site}/token").json()["result"]["token"]
        rotated = http.post(f"/v1/sites/{site}/token/rotate").json()["result"]["token"]
        lookup = {"site": site, "callback": "cb", "tcid": "42", "token": rotated}
        assert http.get(LOOKUP, params=lookup).status_code == 200
        assert http.get(LIST, params={"site": site, "token": rotated}).status_code == 200
        assert http.get(LOOKUP, params={**lookup, "token": site_token}).status_code == 401
    with app.client() as anon:
        bearer = {"Authorization": f"Bearer {METRICS_TOKEN}"}
        assert anon.get("/metrics", headers=bearer).status_code == 200
    with app.client(auth=(tenant.api_user, tenant.api_key + "x")) as wrong:
        assert wrong.get("/v1/sites").status_code == 401
    # Whatever code logs a credential by mistake, the line written masks it.
    logging.getLogger("segmentd.test").warning(
        "oops api_key=%s token=%s Authorization: Basic %s",
        tenant.api_key,
        rotated,
        "dXNlcjpwYXNzd29yZA==",
    )
    text = captured.text()
    lines = captured.lines()  # every line parses as one JSON object
    assert len(lines) == len(text.splitlines()) > 0
    for secret in (tenant.api_key, site_token, rotated, METRICS_TOKEN, "dXNlcjpwYXNzd29yZA=="):
        assert secret not in text
    routes = {(line["route"], line["status"]) for line in request_lines(captured)}
    assert (LOOKUP, 200) in routes and (LOOKUP, 401) in routes  # at DEBUG
    assert (LIST, 200) in routes and ("/metrics", 200) in routes
    assert "[redacted]" in lines[-1]["message"]


def test_records_written_during_a_request_carry_its_id(
    logged: tuple[AppServer, Captured], client: httpx.Client
) -> None:
    _app, captured = logged
    body = {"segment_name": "Paris", "type": 0, "condition": {"relation": "and", "items": []}}
    answer = client.post(
        "/v1/marketing/lists/segments", json=body, headers={"X-Request-ID": "create-1"}
    )
    rid = answer.headers["x-request-id"]
    assert rid == "create-1"
    tagged = [line for line in captured.lines() if line.get("request_id") == rid]
    assert tagged and all(line["request_id"] == rid for line in tagged)


def test_redact_masks_credential_shapes() -> None:
    masked = log_setup.redact(
        'GET /x?site=1&token=abc123&tcid=9 {"api_key": "k-1"} password=hunter2 '
        "Authorization: Bearer eyJhbGciOi.x.y secret=s",
        ["very-secret-value"],
    )
    for secret in ("abc123", "k-1", "hunter2", "eyJhbGciOi"):
        assert secret not in masked
    assert "tcid=9" in masked and "site=1" in masked
    assert log_setup.redact("the very-secret-value here", ["very-secret-value"]) == (
        "the [redacted] here"
    )
