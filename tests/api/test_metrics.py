"""``GET /metrics`` on the real app: the Prometheus text format (read back with
prometheus-client's own parser), recorded and database-derived metrics, bounded route labels,
and the optional bearer token."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from segmentd.storage.db import Database
from tests.conftest import AppServer, Tenant, wait_built
from tests.conftest import test_settings as settings_for

SEGMENTS = "/v1/marketing/lists/segments"
PARIS = {"relation": "and", "items": [{"field_name": "Email", "op": "contain", "value": "paris"}]}
LOOKUP = "/api/dms/segmentation/segments"


def samples(text: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    """{(sample name, sorted labels): value} of a scrape."""
    found: dict[tuple[str, tuple[tuple[str, str], ...]], float] = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            found[(sample.name, tuple(sorted(sample.labels.items())))] = sample.value
    return found


def value(scrape: dict[Any, float], name: str, **labels: str) -> float:
    return scrape.get((name, tuple(sorted(labels.items()))), 0.0)


def scrape(http: httpx.Client, **headers: str) -> dict[Any, float]:
    answer = http.get("/metrics", headers=headers)
    assert answer.status_code == 200, answer.text
    assert answer.headers["content-type"].startswith("text/plain")
    return samples(answer.text)


def make_segment(http: httpx.Client, name: str = "Paris") -> str:
    body = {"segment_name": name, "type": 0, "condition": PARIS}
    answer = http.post(SEGMENTS, json=body)
    assert answer.status_code == 200, answer.text
    segment_id: str = answer.json()["result"]["segment_id"]
    wait_built(http, segment_id)
    return segment_id


def test_metrics_parse_and_count_builds_requests_and_queues(
    client: httpx.Client, anon: httpx.Client
) -> None:
    before = scrape(anon)
    segment_id = make_segment(client)
    assert client.get(f"/v1/segments/{segment_id}/freshness").status_code == 200
    assert client.get(f"/v1/segments/{segment_id}/freshness").status_code == 200
    assert anon.get("/no/such/path/abc123").status_code == 404
    after = scrape(anon)

    assert value(after, "segmentd_database_up") == 1
    for queue in ("build", "refresh", "import"):
        for state in ("queued", "running", "retrying"):
            assert (("segmentd_queue_jobs", (("queue", queue), ("state", state)))) in after
    assert value(after, "segmentd_stuck_jobs", queue="build") == 0
    assert value(after, "segmentd_overdue_refresh_segments") == 0
    built = "segmentd_build_duration_seconds_count"
    assert value(after, built) == value(before, built) + 1
    route = {"method": "GET", "route": "/v1/segments/{segment_id}/freshness", "status": "2xx"}
    assert (
        value(after, "segmentd_http_request_duration_seconds_count", **route)
        == value(before, "segmentd_http_request_duration_seconds_count", **route) + 2
    )
    assert anon.get("/ui/static/ui.css").status_code == 200
    static = {"method": "GET", "route": "/ui/static/{path}", "status": "2xx"}
    assert value(scrape(anon), "segmentd_http_request_duration_seconds_count", **static) >= 1
    unmatched = {"method": "GET", "route": "unmatched", "status": "4xx"}
    assert value(after, "segmentd_http_request_duration_seconds_count", **unmatched) >= 1
    # Route templates only: no raw path, no segment id, ever becomes a label value.
    text = anon.get("/metrics").text
    assert segment_id not in text and "abc123" not in text
    # The build's creation applied no member change; a member write is a real-time update.
    members = {"update_existing": True, "members": [{"email": "a@paris.example"}]}
    written = client.post("/v1/marketing/lists/members", json=members)
    assert written.status_code == 200, written.text
    assert value(scrape(anon), "segmentd_realtime_updates_total") > value(
        after, "segmentd_realtime_updates_total"
    )


def test_look_ups_have_their_own_histogram(client: httpx.Client, anon: httpx.Client) -> None:
    site = client.get("/v1/sites").json()["result"][0]["site_id"]
    token = client.get(f"/v1/sites/{site}/token").json()["result"]["token"]
    before = scrape(anon)
    params = {"site": site, "callback": "cb", "tcid": "42", "token": token}
    assert anon.get(LOOKUP, params=params).status_code == 200
    assert anon.get(LOOKUP, params={**params, "token": "wrong"}).status_code == 401
    after = scrape(anon)
    count = "segmentd_lookup_duration_seconds_count"
    assert value(after, count, status="2xx") == value(before, count, status="2xx") + 1
    assert value(after, count, status="4xx") == value(before, count, status="4xx") + 1
    assert token not in anon.get("/metrics").text


@pytest.fixture
def guarded(db: Database, db_url: str) -> Iterator[AppServer]:
    with AppServer(settings_for(db_url, metrics_token="scrape-me-please")) as app:
        yield app


def test_a_metrics_token_is_required_when_set(guarded: AppServer, tenant: Tenant) -> None:
    with guarded.client() as http:
        assert http.get("/metrics").status_code == 401
        assert http.get("/metrics").headers["www-authenticate"] == "Bearer"
        wrong = http.get("/metrics", headers={"Authorization": "Bearer scrape-me-plea"})
        assert wrong.status_code == 401
        basic = http.get("/metrics", auth=tenant.auth)  # an API key is not the metrics token
        assert basic.status_code == 401
        scraped = scrape(http, Authorization="Bearer scrape-me-please")
        assert value(scraped, "segmentd_database_up") == 1
