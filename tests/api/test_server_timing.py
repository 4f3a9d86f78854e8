"""Every response says how long the server spent on it (``Server-Timing``), over real HTTP."""

from __future__ import annotations

import httpx
import pytest

from segmentd.api.server_timing import app_milliseconds
from tests.support.ingest_helpers import upsert


def test_every_response_carries_the_servers_time(client: httpx.Client) -> None:
    upsert(client, [{"email": "ann@example.com"}])
    for response in (
        client.get("/healthz"),
        client.post("/v1/marketing/lists/members", json={"update_existing": True, "members": []}),
        client.get("/v1/marketing/lists/segments/nope"),
    ):
        assert 0 < app_milliseconds(response.headers["server-timing"]) < 60_000


def test_the_header_is_parsed_as_the_spec_writes_it() -> None:
    assert app_milliseconds('db;dur=1.5, app;desc="all";dur=12.25') == 12.25
    with pytest.raises(ValueError):
        app_milliseconds("db;dur=1")
