"""The failed-login limiter: wrong keys per (client, api_user), never a right key, the same
rule for the UI's sign-in, and forwarded addresses believed only from trusted proxies."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from pydantic import ValidationError

from segmentd.api.common.ratelimit import FailureLimiter
from segmentd.settings import Settings
from segmentd.storage.db import Database
from tests.cli.test_cli import Process, serve
from tests.conftest import LiveServer, Tenant, make_tenant, test_settings
from tests.support.ui_support import csrf_of

SEGMENTS = "/v1/marketing/lists/segments"
LIMIT = 3


@pytest.fixture
def strict(db: Database, db_url: str) -> Iterator[LiveServer]:
    with LiveServer(test_settings(db_url, auth_failure_limit=LIMIT), start_worker=False) as live:
        yield live


@pytest.fixture
def processes() -> Iterator[list[Process]]:
    started: list[Process] = []
    yield started
    for process in started:
        if process.running():
            process.terminate()


def wrong(tenant: Tenant) -> tuple[str, str]:
    return (tenant.api_user, "not-" + tenant.api_key)


def test_wrong_keys_beyond_the_limit_answer_429_and_the_right_key_still_passes(
    strict: LiveServer, tenant: Tenant
) -> None:
    with strict.client() as http:
        assert [http.get(SEGMENTS, auth=wrong(tenant)).status_code for _ in range(LIMIT)] == [
            401
        ] * LIMIT
        for _ in range(3):
            blocked = http.get(SEGMENTS, auth=wrong(tenant))
            assert blocked.status_code == 429
            assert blocked.json()["code"] == 30000
            assert 1 <= int(blocked.headers["Retry-After"]) <= 60
            assert http.get(SEGMENTS, auth=tenant.auth).status_code == 200


def test_one_users_failures_never_limit_another_user_behind_the_same_address(
    strict: LiveServer, db: Database, tenant: Tenant
) -> None:
    other = make_tenant(db, "other")
    with strict.client() as http:
        for _ in range(LIMIT + 2):
            http.get(SEGMENTS, auth=wrong(tenant))
        assert http.get(SEGMENTS, auth=wrong(tenant)).status_code == 429
        assert http.get(SEGMENTS, auth=wrong(other)).status_code == 401
        assert http.get(SEGMENTS, auth=other.auth).status_code == 200
        assert http.get(SEGMENTS, auth=tenant.auth).status_code == 200


def test_requests_without_credentials_are_no_guesses(strict: LiveServer, tenant: Tenant) -> None:
    with strict.client() as http:
        for headers in ({}, {"Authorization": "Bearer x"}, {"Authorization": "Basic !!"}):
            for _ in range(LIMIT + 2):
                answer = http.get(SEGMENTS, headers=headers)
                assert answer.status_code == 401
                assert answer.json()["code"] == 30000
        # Nothing was counted: the user's first wrong key is a plain 401.
        assert http.get(SEGMENTS, auth=wrong(tenant)).status_code == 401


def ui_login(http: httpx.Client, api_user: str, api_key: str) -> httpx.Response:
    csrf = csrf_of(http.get("/ui/login"))
    form = {"csrf_token": csrf, "api_user": api_user, "api_key": api_key}
    return http.post("/ui/login", data=form)


def test_ui_sign_in_shares_the_rule(strict: LiveServer, tenant: Tenant) -> None:
    with strict.client(follow_redirects=False) as http:
        assert ui_login(http, tenant.api_user, "").status_code == 401  # no key: not counted
        for _ in range(LIMIT):
            assert ui_login(http, *wrong(tenant)).status_code == 401
        blocked = ui_login(http, *wrong(tenant))
        assert blocked.status_code == 429
        assert "too many failed authentications" in blocked.text
        assert 1 <= int(blocked.headers["Retry-After"]) <= 60
        # One count for the pair, whichever door the guesses came through.
        assert http.get(SEGMENTS, auth=wrong(tenant)).status_code == 429
        assert ui_login(http, *tenant.auth).status_code == 303
        assert http.get("/ui/segments").status_code == 200


def test_memory_is_bounded_and_the_oldest_pairs_are_forgotten() -> None:
    limiter = FailureLimiter(limit=1, max_keys=1_000)
    for n in range(5_000):
        assert limiter.refusal(f"10.0.{n // 250}.{n % 250}", "user") == 0
    assert len(limiter) == 1_000
    assert limiter.refusal("10.0.19.249", "user") > 0  # the latest is kept
    assert limiter.refusal("10.0.0.0", "user") == 0  # the oldest was forgotten


def test_trusted_proxies_must_be_addresses_or_networks() -> None:
    settings = Settings(trusted_proxies=" 10.0.0.1, 192.168.0.0/16 ,::1")
    assert settings.trusted_proxy_list == ["10.0.0.1", "192.168.0.0/16", "::1"]
    assert Settings().trusted_proxy_list == []
    for bad in ("*", "proxy.example", "10.0.0.300"):
        with pytest.raises(ValidationError, match="trusted_proxies"):
            Settings(trusted_proxies=bad)


# --- forwarded addresses, through ``segmentd serve`` itself ------------------------------------


def statuses(url: str, auth: tuple[str, str], forwarded: list[dict[str, str]]) -> list[int]:
    with httpx.Client(base_url=url, auth=auth, timeout=30) as http:
        return [http.get(SEGMENTS, headers=headers).status_code for headers in forwarded]


def spoofed(count: int) -> list[dict[str, str]]:
    """A different client each time, as a script would claim."""
    return [
        {"X-Forwarded-For": f"203.0.113.{n}", "Forwarded": f"for=198.51.100.{n}"}
        for n in range(count)
    ]


@pytest.mark.slow
def test_serve_ignores_forwarded_addresses_from_an_untrusted_peer(
    tmp_path: Path, processes: list[Process]
) -> None:
    server = serve(
        processes,
        tmp_path,
        "--no-worker",
        SEGMENTD_API_USER="ops",
        SEGMENTD_API_KEY="k" * 32,
        SEGMENTD_AUTH_FAILURE_LIMIT=str(LIMIT),
    )
    answers = statuses(server.url, ("ops", "wrong"), spoofed(LIMIT + 2))
    assert answers == [401] * LIMIT + [429, 429]
    assert statuses(server.url, ("ops", "k" * 32), spoofed(1)) == [200]


@pytest.mark.slow
def test_serve_believes_x_forwarded_for_from_a_trusted_proxy(
    tmp_path: Path, processes: list[Process]
) -> None:
    server = serve(
        processes,
        tmp_path,
        "--no-worker",
        SEGMENTD_API_USER="ops",
        SEGMENTD_API_KEY="k" * 32,
        SEGMENTD_AUTH_FAILURE_LIMIT=str(LIMIT),
        SEGMENTD_TRUSTED_PROXIES="127.0.0.1,::1",
    )
    # Each forwarded client counts for itself...
    assert statuses(server.url, ("ops", "wrong"), spoofed(LIMIT + 2)) == [401] * (LIMIT + 2)
    # ... and one client is limited whatever its Forwarded header (never read) says.
    same_client = [{**headers, "X-Forwarded-For": "203.0.113.77"} for headers in spoofed(LIMIT + 1)]
    assert statuses(server.url, ("ops", "wrong"), same_client) == [401] * LIMIT + [429]


def test_wrong_keys_for_a_user_that_does_not_exist_are_not_counted(
    strict: LiveServer, tenant: Tenant
) -> None:
    """No key to find: a fuzzer's made-up user (schemathesis sends one) is never refused."""
    with strict.client() as http:
        for _ in range(LIMIT + 3):
            answer = http.get(SEGMENTS, auth=("SCHEMATHESIS-INVALID-VALUE", "x"))
            assert answer.status_code == 401
            assert ui_login(http, "nobody", "x").status_code == 401
        assert http.get(SEGMENTS, auth=wrong(tenant)).status_code == 401


@pytest.mark.parametrize("api_user", ["nul\x00user", "u" * 65, "sp ace"])
def test_a_user_no_credential_can_have_is_a_plain_401(
    strict: LiveServer, tenant: Tenant, api_user: str
) -> None:
    with strict.client() as http:
        answer = http.get(SEGMENTS, auth=(api_user, tenant.api_key))
        assert answer.status_code == 401
        assert answer.json()["code"] == 30000
        # The UI's form holds its strings to the text rule first: a NUL is refused as input.
        expected = 400 if "\x00" in api_user else 401
        assert ui_login(http, api_user, tenant.api_key).status_code == expected
