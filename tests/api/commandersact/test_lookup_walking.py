"""The cookie look-up cannot walk through visitors: each client may look up a limited number
of distinct visitors per minute (a JSON 429 beyond), a visitor repeating its own TCID is never
limited, and the tcid + token path is not limited."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import httpx
import pytest

from segmentd.api.commandersact.walking import VisitorWalkLimit, client_group
from segmentd.storage.db import Database
from tests.api.commandersact.test_commandersact import (
    SiteInfo,
    by_cookie,
    ids_of,
    json_error,
    lookup,
    make_site,
    publish,
)
from tests.conftest import LiveServer, Tenant, test_settings
from tests.support.factories import add_member

LIMIT = 3


@dataclass
class Walk:
    server: LiveServer
    site: SiteInfo
    segment: str


@pytest.fixture
def walk(db: Database, db_url: str, tenant: Tenant) -> Iterator[Walk]:
    # The test client is a trusted proxy, so X-Forwarded-For can stand for other clients.
    settings = test_settings(db_url, lookup_visitor_limit=LIMIT, trusted_proxies="127.0.0.1")
    with (
        LiveServer(settings, start_worker=False) as server,
        server.client(auth=tenant.auth) as api,
    ):
        site = make_site(api)
        member = add_member(db, tenant.id, "v1@x.test", list_id=site.id, tcid="1001")
        segment = publish(db, tenant.id, site.id, [member])
        yield Walk(server, site, segment)


def test_a_client_walking_through_visitors_gets_a_json_429(walk: Walk) -> None:
    with walk.server.client() as http:
        for tcid in ("1001", "1002", "1003"):
            assert by_cookie(http, walk.site.id, tcid).status_code == 200
        refused = by_cookie(http, walk.site.id, "1004")
        json_error(refused, 429, "too_many_visitors")
        assert 1 <= int(refused.headers["Retry-After"]) <= 60
        assert refused.headers["cache-control"] == "private, no-store"
        json_error(by_cookie(http, walk.site.id, "1005"), 429, "too_many_visitors")
        # Visitors it already looked up still answer, with their segments.
        assert ids_of(by_cookie(http, walk.site.id, "1001")) == [walk.segment]
        # The token's holder may ask for anyone.
        answer = lookup(http, walk.site.id, tcid="1004", token=walk.site.token)
        assert ids_of(answer) == []
        # Another client is not limited by this one.
        other = by_cookie(http, walk.site.id, "1004", **{"X-Forwarded-For": "203.0.113.9"})
        assert ids_of(other) == []


def test_a_visitor_repeating_its_own_tcid_is_never_limited(walk: Walk) -> None:
    with walk.server.client() as http:
        answers = [by_cookie(http, walk.site.id, "1001") for _ in range(5 * LIMIT)]
        assert all(ids_of(answer) == [walk.segment] for answer in answers)
        # Look-ups without a visitor (no cookie, or one that is not digits) are not counted.
        for _ in range(2 * LIMIT):
            assert ids_of(lookup(http, walk.site.id)) == []
            assert ids_of(by_cookie(http, walk.site.id, "not-digits")) == []
        for tcid in ("1002", "1003"):
            assert by_cookie(http, walk.site.id, tcid).status_code == 200


def test_a_nat_of_browsers_each_with_its_cookie_stays_under_the_default() -> None:
    """300 distinct visitors a minute from one address pass; the 301st is refused."""
    limit = VisitorWalkLimit(300)
    assert all(limit.refusal("198.51.100.7", str(tcid)) == 0 for tcid in range(300))
    assert all(limit.refusal("198.51.100.7", str(tcid)) == 0 for tcid in range(300))
    assert limit.refusal("198.51.100.7", "300") > 0
    assert VisitorWalkLimit(0).refusal("198.51.100.7", "anyone") == 0


def test_ipv6_clients_count_by_their_64_network() -> None:
    assert client_group("2001:db8:1:2::1") == client_group("2001:db8:1:2:ffff::9")
    assert client_group("2001:db8:1:3::1") != client_group("2001:db8:1:2::1")
    assert client_group("192.0.2.1") == "192.0.2.1"
    limit = VisitorWalkLimit(2)
    for n, address in enumerate(("2001:db8::1", "2001:db8::2")):
        assert limit.refusal(client_group(address), str(n)) == 0
    assert limit.refusal(client_group("2001:db8::3"), "9") > 0


def test_memory_is_bounded() -> None:
    limit = VisitorWalkLimit(100, max_entries=1_000)
    for n in range(5_000):
        assert limit.refusal(f"10.0.{n % 700 // 250}.{n % 250}", str(n)) == 0
        assert len(limit) <= 1_000
    # A full table starts every count again: refilling it costs max_entries look-ups.
    small = VisitorWalkLimit(2, max_entries=10)
    assert [small.refusal("walker", str(n)) == 0 for n in range(3)] == [True, True, False]
    for n in range(10):
        small.refusal(f"browser {n}", "1")
    assert small.refusal("walker", "3") == 0


def test_a_limit_of_one_visitor() -> None:
    limit = VisitorWalkLimit(1)
    assert limit.refusal("198.51.100.7", "1") == 0
    assert limit.refusal("198.51.100.7", "1") == 0
    assert limit.refusal("198.51.100.7", "2") > 0
    assert limit.refusal("198.51.100.8", "2") == 0


def test_openapi_documents_the_429(walk: Walk) -> None:
    spec = httpx.get(walk.server.url + "/openapi.json", timeout=30).json()
    answers = spec["paths"]["/api/dms/segmentation/segments"]["get"]["responses"]
    assert "too_many_visitors" in answers["429"]["description"]
    assert "Retry-After" in answers["429"]["headers"]
