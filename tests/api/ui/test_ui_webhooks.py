"""The webhooks page over HTTP, on SQLite and PostgreSQL: subscriptions made (the secret shown
once, then verified on a real delivery), enabled and disabled, deleted after a confirmation;
refusals in the use cases' words, as the API answers them (the address guard included); a
parked delivery listed and replayed; another tenant's ids answer 404. Deliveries are driven
step by step (no worker thread) to a real receiver on 127.0.0.1, the one host allowed."""

from __future__ import annotations

import html
import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime

import httpx
import pytest

from segmentd.jobs.build_worker import run_pending
from segmentd.jobs.webhook_delivery import deliver_one
from segmentd.jobs.webhook_dispatch import dispatch
from segmentd.services.webhook_service import MAX_URL
from segmentd.settings import Settings
from segmentd.storage.db import Database
from tests.conftest import AppServer, Tenant, make_tenant, test_settings
from tests.support.ingest_helpers import SEGMENTS, ok, upsert
from tests.support.moving_clock import MovingClock, moving_clock
from tests.support.ui_support import Ui, api_message, flash_after, slot_text
from tests.support.webhook_receiver import Receiver

WEBHOOKS = "/v1/webhooks"
OWNER = "test-worker"


@dataclass
class Hooks:
    db: Database
    settings: Settings
    server: AppServer
    api: httpx.Client
    ui: Ui
    receiver: Receiver
    clock: MovingClock
    segment_id: str

    def pump(self) -> None:
        """Cut and post until nothing is due (the clock unmoved)."""
        while dispatch(self.db, self.settings) or deliver_one(self.db, self.settings, OWNER):
            pass

    def join(self, *names: str) -> None:
        upsert(self.api, [{"email": f"{n}@example.com", "name": f"{n} in"} for n in names])

    def flash(self, answer: httpx.Response) -> str:
        return flash_after(self.ui, answer)


@pytest.fixture
def hooks(db: Database, db_url: str, tenant: Tenant) -> Iterator[Hooks]:
    settings = test_settings(
        db_url, webhook_allowed_hosts="127.0.0.1", webhook_timeout_seconds=5, lease_seconds=5
    )
    with (
        AppServer(settings, start_worker=False) as server,
        server.client(auth=tenant.auth) as api,
        Receiver() as receiver,
        moving_clock(datetime.now(UTC)) as clock,
    ):
        body = {
            "segment_name": "Insiders",
            "type": 0,
            "condition": {
                "relation": "or",
                "items": [{"field_name": "Name", "op": "contain", "value": " in"}],
            },
        }
        segment_id = ok(api.post(SEGMENTS, json=body))["result"]["segment_id"]
        run_pending(db, settings)
        ui = Ui(server, tenant.api_user, tenant.api_key)
        yield Hooks(db, settings, server, api, ui, receiver, clock, segment_id)
        ui.close()


def _subscribe(hooks: Hooks, **fields: object) -> httpx.Response:
    form: list[tuple[str, str]] = [("url", str(fields.get("url", hooks.receiver.url)))]
    form.append(("segment_id", str(fields.get("segment_id", ""))))
    form += [("events", e) for e in fields.get("events", ["entered", "left"])]  # type: ignore[attr-defined]
    return hooks.ui.post("/ui/webhooks", form)


def _deliveries(hooks: Hooks, webhook_id: int) -> list[dict[str, object]]:
    found: list[dict[str, object]] = ok(hooks.api.get(f"{WEBHOOKS}/{webhook_id}/deliveries"))[
        "result"
    ]
    return found


def _row(page: str, webhook_id: int) -> str:
    match = re.search(rf'<tr id="webhook-{webhook_id}">(.*?)</tr>', page, re.S)
    assert match, page
    return html.unescape(re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", match[1])))


def test_subscribe_see_the_secret_once_toggle_and_delete(hooks: Hooks) -> None:
    ui, api = hooks.ui, hooks.api
    empty = ui.get("/ui/webhooks")
    assert empty.status_code == 200 and "No webhook yet." in empty.text
    assert 'href="/ui/webhooks"' in empty.text  # in the navigation

    made = _subscribe(hooks, segment_id=hooks.segment_id, events=["entered"])
    assert made.status_code == 200, made.text
    assert made.headers["cache-control"] == "no-store"
    secret = re.search(r'id="secret"[^>]*>(whsec_[^<]+)</textarea>', made.text)
    assert secret, made.text
    (listed,) = ok(api.get(WEBHOOKS))["result"]
    webhook_id = listed["webhook_id"]
    assert listed["url"] == hooks.receiver.url and listed["segment_id"] == hooks.segment_id
    assert listed["events"] == ["entered"] and listed["enabled"] is True
    # The secret signs the deliveries.
    hooks.join("ann")
    hooks.pump()
    (received,) = hooks.receiver.received
    changes = received.verified(secret[1])["data"]["changes"]
    assert [c["change"] for c in changes] == ["entered"]

    page = ui.get("/ui/webhooks").text
    assert "whsec_" not in page  # never again
    row = _row(page, webhook_id)
    assert hooks.receiver.url in row and "Insiders" in row and "entered" in row
    assert "left" not in row and " yes " in row and "delivered" in row

    said = hooks.flash(ui.post(f"/ui/webhooks/{webhook_id}/enabled", {"enabled": "0"}))
    assert said == f"Webhook {webhook_id} disabled: its deliveries wait."
    assert ok(api.get(f"{WEBHOOKS}/{webhook_id}"))["result"]["enabled"] is False
    assert " no " in _row(ui.get("/ui/webhooks").text, webhook_id)
    said = hooks.flash(ui.post(f"/ui/webhooks/{webhook_id}/enabled", {"enabled": "1"}))
    assert said == f"Webhook {webhook_id} enabled."
    assert ok(api.get(f"{WEBHOOKS}/{webhook_id}"))["result"]["enabled"] is True

    confirm = ui.get(f"/ui/webhooks/{webhook_id}/delete")
    assert confirm.status_code == 200
    assert f"Delete webhook {webhook_id}?" in html.unescape(confirm.text)
    assert hooks.receiver.url in confirm.text
    assert len(ok(api.get(WEBHOOKS))["result"]) == 1  # not yet
    said = hooks.flash(ui.post(f"/ui/webhooks/{webhook_id}/delete"))
    assert said == f"Webhook {webhook_id} deleted."
    assert ok(api.get(WEBHOOKS))["result"] == []

    ui.post("/ui/language", {"lang": "fr", "back": "/ui/webhooks"})
    try:
        french = html.unescape(ui.get("/ui/webhooks").text)
        assert "Aucun webhook pour l'instant." in french and "Créer le webhook" in french
    finally:
        ui.post("/ui/language", {"lang": "en", "back": "/ui/webhooks"})


@pytest.mark.parametrize(
    "url",
    [
        "http://10.0.0.7/hook",
        "http://169.254.169.254/latest",
        "http://[::1]:8000/hook",
        "http://127.0.0.2:8000/hook",  # not the allowed 127.0.0.1
        "http://user:pw@127.0.0.1/x",
    ],
)
def test_addresses_the_guard_refuses_are_refused_in_the_apis_words(hooks: Hooks, url: str) -> None:
    refused = _subscribe(hooks, url=url)
    assert refused.status_code == 400
    words = api_message(hooks.api.post(WEBHOOKS, json={"url": url}))
    assert slot_text(refused.text, "err-url") == words
    assert html.escape(url) in refused.text  # what was typed stays in the box
    assert ok(hooks.api.get(WEBHOOKS))["result"] == []


def test_other_refusals_name_their_input(hooks: Hooks) -> None:
    cases = [
        ({"url": "ftp://example.com/hook"}, "err-url", "must be an http:// or https:// URL"),
        ({"url": ""}, "err-url", "must be an http:// or https:// URL"),
        ({"url": "http://" + "a" * MAX_URL}, "err-url", f"at most {MAX_URL} characters"),
        ({"url": "http://[::1/hook"}, "err-url", "is not a valid URL"),
        ({"url": "http://127.0.0.1/ä"}, "err-url", "must be printable ASCII, without spaces"),
        ({"url": "http://127.0.0.1/a b"}, "err-url", "must be printable ASCII, without spaces"),
        ({"url": "http://127.0.0.1:99999/x"}, "err-url", "has an invalid port"),
        ({"events": []}, "err-events", "choose entered, left or both"),
        ({"events": ["joined"]}, "err-events", "choose entered, left or both"),
    ]
    for fields, slot, words in cases:
        refused = _subscribe(hooks, **fields)
        assert refused.status_code == 400, fields
        assert words in slot_text(refused.text, slot), (fields, refused.text)
    missing = "0" * 24
    refused = _subscribe(hooks, segment_id=missing)
    api_words = api_message(
        hooks.api.post(WEBHOOKS, json={"url": hooks.receiver.url, "segment_id": missing})
    )
    assert slot_text(refused.text, "err-segment_id") == api_words
    assert ok(hooks.api.get(WEBHOOKS))["result"] == []


def test_a_parked_delivery_is_listed_and_replayed(hooks: Hooks) -> None:
    ui = hooks.ui
    assert _subscribe(hooks).status_code == 200
    (listed,) = ok(hooks.api.get(WEBHOOKS))["result"]
    webhook_id = listed["webhook_id"]
    hooks.join("bob")
    hooks.receiver.default = 503
    hooks.pump()
    while _deliveries(hooks, webhook_id)[0]["state"] == "queued":  # retried, then parked
        hooks.clock.advance(hours=2)
        hooks.pump()
    (parked,) = ok(
        hooks.api.get(f"{WEBHOOKS}/{webhook_id}/deliveries", params={"state": "failed"})
    )["result"]
    delivery_id = parked["delivery_id"]

    page = ui.get("/ui/webhooks").text
    assert "Failed deliveries" in page and "parked" in _row(page, webhook_id)
    row = re.search(rf'<tr id="delivery-{delivery_id}">(.*?)</tr>', page, re.S)
    assert row and "answered 503" in row[1]
    replay = f"/ui/webhooks/{webhook_id}/deliveries/{delivery_id}/replay"
    assert f'action="{replay}"' in row[1]

    hooks.receiver.default = 200
    said = hooks.flash(ui.post(replay))
    assert said == f"Delivery {delivery_id} queued again."
    again = ok(hooks.api.get(f"{WEBHOOKS}/{webhook_id}/deliveries"))["result"][0]
    assert again["delivery_id"] == delivery_id and again["state"] == "queued"
    said = hooks.flash(ui.post(replay))
    assert said == f"Error: delivery {delivery_id} is queued, not parked"
    hooks.pump()
    assert "Failed deliveries" not in ui.get("/ui/webhooks").text
    assert hooks.receiver.received[-1].message_id == hooks.receiver.received[0].message_id


def test_another_tenants_webhook_answers_404(hooks: Hooks) -> None:
    other = make_tenant(hooks.db, "other")
    with hooks.server.client(auth=other.auth) as them:
        theirs = ok(them.post(WEBHOOKS, json={"url": hooks.receiver.url}))["result"]["webhook_id"]
    ui = hooks.ui
    for method, path in (
        ("get", f"/ui/webhooks/{theirs}/delete"),
        ("post", f"/ui/webhooks/{theirs}/delete"),
        ("post", f"/ui/webhooks/{theirs}/enabled"),
        ("post", f"/ui/webhooks/{theirs}/deliveries/1/replay"),
        ("get", "/ui/webhooks/abc/delete"),
        ("post", "/ui/webhooks/0/enabled"),
        ("post", "/ui/webhooks/99999999999999999999/delete"),
    ):
        answer = ui.get(path) if method == "get" else ui.post(path, {"enabled": "0"})
        assert answer.status_code == 404, (method, path)
    with hooks.server.client(auth=other.auth) as them:
        still = ok(them.get(f"{WEBHOOKS}/{theirs}"))["result"]
    assert still["enabled"] is True
    assert f'id="webhook-{theirs}"' not in ui.get("/ui/webhooks").text
