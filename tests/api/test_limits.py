"""Failed-login throttling and request body limits."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from segmentd.storage.db import Database
from tests.conftest import LiveServer, Tenant, test_settings

SEGMENTS = "/v1/marketing/lists/segments"


@pytest.fixture
def strict_server(db: Database, db_url: str) -> Iterator[LiveServer]:
    settings = test_settings(db_url, auth_failure_limit=3, max_body_bytes=2048)
    with LiveServer(settings, start_worker=False) as live:
        yield live


def test_repeated_failed_logins_answer_429_with_retry_after(
    strict_server: LiveServer, tenant: Tenant
) -> None:
    with strict_server.client() as http:
        for _ in range(3):
            answer = http.get(SEGMENTS, auth=(tenant.api_user, "wrong"))
            assert answer.status_code == 401
            assert answer.json()["code"] == 30000
        blocked = http.get(SEGMENTS, auth=(tenant.api_user, "wrong"))
        assert blocked.status_code == 429
        assert blocked.json()["code"] == 30000
        assert 1 <= int(blocked.headers["Retry-After"]) <= 60
        # The right key is never refused for the wrong keys sent before it.
        assert http.get(SEGMENTS, auth=tenant.auth).status_code == 200


def test_successful_logins_are_not_throttled(strict_server: LiveServer, tenant: Tenant) -> None:
    with strict_server.client(auth=tenant.auth) as http:
        for _ in range(10):
            assert http.get(SEGMENTS).status_code == 200


def test_body_over_the_limit_is_refused_by_declared_length(
    strict_server: LiveServer, tenant: Tenant
) -> None:
    with strict_server.client(auth=tenant.auth) as http:
        answer = http.post(
            SEGMENTS,
            content=b"{" + b" " * 4096 + b"}",
            headers={"content-type": "application/json"},
        )
    assert answer.status_code == 413
    assert answer.json() == {"code": 30035, "message": "request body exceeds 2048 bytes"}


def test_streamed_body_over_the_limit_is_refused(strict_server: LiveServer, tenant: Tenant) -> None:
    def chunks() -> Iterator[bytes]:
        for _ in range(8):
            yield b" " * 512

    with strict_server.client(auth=tenant.auth) as http:
        answer = http.post(SEGMENTS, content=chunks(), headers={"content-type": "application/json"})
    assert answer.status_code == 413
