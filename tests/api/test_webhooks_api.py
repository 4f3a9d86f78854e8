"""The native webhook endpoints: subscriptions, their secrets, limits and refusals."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest

from segmentd.services.webhook_service import MAX_WEBHOOKS
from segmentd.storage.db import Database
from tests.conftest import AppServer, Tenant, make_tenant, test_settings
from tests.support.ingest_helpers import SEGMENTS, error, ok

WEBHOOKS = "/v1/webhooks"
HOOK = "http://127.0.0.1:9/hook"  # allowed below; nothing listens (no delivery is awaited)


@pytest.fixture
def app(db: Database, db_url: str) -> Iterator[AppServer]:
    settings = test_settings(db_url, webhook_allowed_hosts="127.0.0.1")
    with AppServer(settings, start_worker=False) as server:
        yield server


@pytest.fixture
def http(app: AppServer, tenant: Tenant) -> Iterator[httpx.Client]:
    with app.client(auth=tenant.auth) as client:
        yield client


def test_create_read_update_rotate_delete(http: httpx.Client) -> None:
    made = http.post(WEBHOOKS, json={"url": HOOK, "events": ["entered"]})
    assert made.headers["cache-control"] == "no-store"
    created = ok(made)["result"]
    secret = created.pop("secret")
    assert secret.startswith("whsec_") and len(secret) > 40
    webhook_id = created["webhook_id"]
    assert created["url"] == HOOK and created["segment_id"] is None
    assert created["events"] == ["entered"] and created["enabled"] is True
    shown = ok(http.get(f"{WEBHOOKS}/{webhook_id}"))["result"]
    assert "secret" not in shown and shown["webhook_id"] == webhook_id
    assert [w["webhook_id"] for w in ok(http.get(WEBHOOKS))["result"]] == [webhook_id]
    changed = ok(
        http.put(
            f"{WEBHOOKS}/{webhook_id}",
            json={"url": HOOK + "2", "events": ["left", "entered"], "enabled": False},
        )
    )["result"]
    assert changed["url"] == HOOK + "2" and changed["events"] == ["entered", "left"]
    assert changed["enabled"] is False
    assert ok(http.put(f"{WEBHOOKS}/{webhook_id}", json={}))["result"]["url"] == HOOK + "2"
    rotated = http.post(f"{WEBHOOKS}/{webhook_id}/secret/rotate")
    assert rotated.headers["cache-control"] == "no-store"
    new_secret = ok(rotated)["result"]["secret"]
    assert new_secret.startswith("whsec_") and new_secret != secret
    assert ok(http.get(f"{WEBHOOKS}/{webhook_id}/deliveries"))["result"] == []
    ok(http.delete(f"{WEBHOOKS}/{webhook_id}"))
    error(http.get(f"{WEBHOOKS}/{webhook_id}"), 404, 30036)


def test_a_subscription_to_one_segment_needs_the_segment(http: httpx.Client) -> None:
    body = {
        "segment_name": "All",
        "type": 0,
        "condition": {
            "relation": "or",
            "items": [{"field_name": "Email", "op": "contain", "value": "@"}],
        },
    }
    segment_id = ok(http.post(SEGMENTS, json=body))["result"]["segment_id"]
    made = ok(http.post(WEBHOOKS, json={"url": HOOK, "segment_id": segment_id}))["result"]
    assert made["segment_id"] == segment_id and made["events"] == ["entered", "left"]
    missing = "0" * 24
    message = error(http.post(WEBHOOKS, json={"url": HOOK, "segment_id": missing}))
    assert "does not exist" in message


@pytest.mark.parametrize(
    ("url", "words"),
    [
        ("http://10.0.0.7/hook", "not a public address"),
        ("http://169.254.169.254/latest", "not a public address"),
        ("http://[::1]:8000/hook", "not a public address"),
        ("http://127.0.0.2:8000/hook", "not a public address"),  # not the allowed 127.0.0.1
        ("ftp://example.com/hook", "pattern"),
        ("http://user:pw@127.0.0.1/x", "user name"),
        ("http://" + "a" * 2050, "at most 2048 characters"),
        ("http://[::1/hook", "not a valid URL"),
    ],
)
def test_urls_that_may_not_be_reached_are_refused(http: httpx.Client, url: str, words: str) -> None:
    made = http.post(WEBHOOKS, json={"url": url})
    assert words in error(made) and made.json()["path"] == "url"
    webhook_id = ok(http.post(WEBHOOKS, json={"url": HOOK}))["result"]["webhook_id"]
    changed = http.put(f"{WEBHOOKS}/{webhook_id}", json={"url": url})
    assert words in error(changed) and changed.json()["path"] == "url"


@pytest.mark.parametrize(
    "body",
    [
        {"url": HOOK, "events": []},
        {"url": HOOK, "events": ["joined"]},
        {"url": HOOK, "events": ["left", "left", "entered"]},
        {"url": HOOK, "segment_id": "xyz"},
        {"url": HOOK, "enabled": "maybe"},
        {},
    ],
)
def test_invalid_bodies_answer_400_in_the_envelope(http: httpx.Client, body: object) -> None:
    error(http.post(WEBHOOKS, json=body))


def test_a_tenant_has_a_bounded_number_of_webhooks(http: httpx.Client) -> None:
    for _ in range(MAX_WEBHOOKS):
        ok(http.post(WEBHOOKS, json={"url": HOOK}))
    assert f"at most {MAX_WEBHOOKS}" in error(http.post(WEBHOOKS, json={"url": HOOK}))


def test_another_tenants_webhook_is_not_found(
    app: AppServer, http: httpx.Client, db: Database
) -> None:
    webhook_id = ok(http.post(WEBHOOKS, json={"url": HOOK}))["result"]["webhook_id"]
    other = make_tenant(db, "other")
    with app.client(auth=other.auth) as stranger:
        for method, path in (
            ("GET", f"{WEBHOOKS}/{webhook_id}"),
            ("PUT", f"{WEBHOOKS}/{webhook_id}"),
            ("DELETE", f"{WEBHOOKS}/{webhook_id}"),
            ("POST", f"{WEBHOOKS}/{webhook_id}/secret/rotate"),
            ("GET", f"{WEBHOOKS}/{webhook_id}/deliveries"),
            ("POST", f"{WEBHOOKS}/{webhook_id}/deliveries/1/replay"),
        ):
            answer = stranger.request(method, path, json={} if method == "PUT" else None)
            error(answer, 404, 30036)
        assert ok(stranger.get(WEBHOOKS))["result"] == []
    assert ok(http.get(f"{WEBHOOKS}/{webhook_id}"))["result"]["webhook_id"] == webhook_id


def test_replaying_an_unknown_delivery_is_not_found(http: httpx.Client) -> None:
    webhook_id = ok(http.post(WEBHOOKS, json={"url": HOOK}))["result"]["webhook_id"]
    error(http.post(f"{WEBHOOKS}/{webhook_id}/deliveries/7/replay"), 404, 30036)
    error(http.get(f"{WEBHOOKS}/{webhook_id}/deliveries", params={"limit": 101}))
    error(http.get(f"{WEBHOOKS}/{webhook_id}/deliveries", params={"state": "lost"}))


def test_the_openapi_document_states_the_limits(http: httpx.Client) -> None:
    document = ok(http.get("/openapi.json"))
    paths = document["paths"]
    assert set(paths[WEBHOOKS]) == {"get", "post"}
    assert set(paths[f"{WEBHOOKS}/{{webhook_id}}"]) == {"get", "put", "delete"}
    assert "post" in paths[f"{WEBHOOKS}/{{webhook_id}}/secret/rotate"]
    assert "get" in paths[f"{WEBHOOKS}/{{webhook_id}}/deliveries"]
    assert (
        "409"
        in paths[f"{WEBHOOKS}/{{webhook_id}}/deliveries/{{delivery_id}}/replay"]["post"][
            "responses"
        ]
    )
    new = document["components"]["schemas"]["NewWebhook"]["properties"]
    assert new["url"]["maxLength"] == 2048
    assert new["events"]["maxItems"] == 2 and new["events"]["minItems"] == 1
    post = paths[WEBHOOKS]["post"]
    assert str(MAX_WEBHOOKS) in post["description"]
