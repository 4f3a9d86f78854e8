"""Filtered member pages (``POST /v1/marketing/lists/segments/{id}/members`` with a condition)
answered on the embedded analytics back-end give the very responses of the system of record:
the same requests to an app without the setting and to one with it, byte for byte (several
filters, pages at the start, the middle and past the end, a segment by field and one by
campaign engagement), after a change too (the copy is synced first); a back-end that cannot
answer gives the envelope's 503."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from segmentd.analytics.engine import Engine
from segmentd.analytics.read_point import read_point
from segmentd.domain.fields import CampaignStatus
from segmentd.jobs import analytics_source as source_module
from segmentd.settings import Settings
from segmentd.storage import analytics_outbox as outbox
from segmentd.storage.db import Database
from tests.conftest import AppServer, Tenant, test_settings, wait_built
from tests.support.analytics_world import write_members
from tests.support.factories import add_activity, add_campaign, add_field, add_member

BASE = "/v1/marketing/lists/segments"
NAMES = ("Ann", "Dan", "Lea", "Jan", "Bob", "Anna", "Ivan", "Eve", "Hana", "Otto")
CITIES = ("Paris", "Lyon", None)


def _item(field_name: str, op: str, value: str, **extra: Any) -> dict[str, Any]:
    return {"field_name": field_name, "op": op, "value": value, **extra}


def _filter(*items: dict[str, Any], relation: str = "and") -> dict[str, Any]:
    return {"condition": {"relation": relation, "items": list(items)}}


FILTERS = [
    _filter(_item("Name", "contain", "an")),
    _filter(_item("City", "==", "Paris")),
    _filter(_item("City", "!=", "Paris")),  # "not Paris" holds for no city too
    _filter(_item("tag", "==", "vip")),
    _filter(_item("tag", "!=", "vip"), _item("City", "==", "Lyon"), relation="or"),
    _filter(_item("Name", "contain", "zzz")),  # nobody
]
PAGES = [(0, 10), (4, 7), (0, 100), (17, 5), (1000, 10)]


@pytest.fixture
def analytics_settings(db_url: str, chdb_folder: Path, chdb_engine: Engine) -> Iterator[Settings]:
    yield test_settings(db_url, analytics_url=f"chdb://{chdb_folder}")
    # Each test's system of record starts again at tenant 1: so does its copy.
    chdb_engine.execute("DROP DATABASE IF EXISTS segmentd")
    source_module._source.cache_clear()


def _world(client: httpx.Client, db: Database, tenant: Tenant) -> list[str]:
    """30 members with names, a city, a tag, campaign activity; a segment of every member
    and one of a campaign's openers, built on the system of record."""
    add_field(db, tenant.id, "City")
    campaign = add_campaign(db, tenant.id, CampaignStatus.SENDING)
    for i in range(30):
        city = CITIES[i % 3]
        member = add_member(
            db,
            tenant.id,
            f"m{i:02}@example.com",
            name=NAMES[i % len(NAMES)],
            values={} if city is None else {"City": city},
            tags=["vip"] if i % 4 == 0 else [],
        )
        if i % 5 != 4:
            add_activity(db, tenant.id, campaign, member, opened=i % 2 == 0)
    everyone = {"relation": "and", "items": [_item("Email", "contain", "@")]}
    openers = {"relation": "and", "items": [_item("campaign", "==", "open", campaign_id=campaign)]}
    ids = []
    for name, kind, condition in (("All", 0, everyone), ("Openers", 1, openers)):
        body = {"segment_name": name, "type": kind, "condition": condition}
        answer = client.post(BASE, json=body)
        assert answer.status_code == 200, answer.text
        ids.append(wait_built(client, answer.json()["result"]["segment_id"])["segment_id"])
    return ids


def _answers(http: httpx.Client, segment_ids: list[str]) -> list[tuple[int, bytes]]:
    answers = []
    for segment_id in segment_ids:
        for body in FILTERS:
            for offset, limit in PAGES:
                answer = http.post(
                    f"{BASE}/{segment_id}/members",
                    params={"offset": offset, "limit": limit},
                    json=body,
                )
                answers.append((answer.status_code, answer.content))
    return answers


def test_filtered_pages_on_the_copy_answer_as_the_system_of_record(
    client: httpx.Client, db: Database, tenant: Tenant, analytics_settings: Settings
) -> None:
    segment_ids = _world(client, db, tenant)
    on_sql = _answers(client, segment_ids)
    assert {status for status, _ in on_sql} == {200}
    totals = {httpx.Response(200, content=body).json()["total"] for _, body in on_sql}
    assert len(totals) > 3  # the filters and segments select different members
    with (
        AppServer(analytics_settings, start_worker=False) as app,
        app.client(auth=tenant.auth) as http,
    ):
        assert _answers(http, segment_ids) == on_sql
        source = app.app.state.analytics
        assert source is not None and source.last_synced(tenant.id) is not None
        target = source.target  # the pages read the segments' copied membership
        assert set(read_point(target.engine, target.database, tenant.id).copies) == set(segment_ids)

        # A change the system of record takes through the outbox: the copy is synced first.
        outboxed = Database(analytics_settings.database_url, analytics_outbox=True)
        try:
            write_members(outboxed, tenant.id, {"m01@example.com": "Zed", "m02@example.com": "Zan"})
            with outboxed.read() as conn:
                assert outbox.seqs_of(conn, tenant.id)
        finally:
            outboxed.dispose()
        changed_on_sql = _answers(client, segment_ids)
        assert changed_on_sql != on_sql
        assert _answers(http, segment_ids) == changed_on_sql


def test_refusals_and_unfiltered_pages_are_the_same(
    client: httpx.Client, db: Database, tenant: Tenant, analytics_settings: Settings
) -> None:
    segment_ids = _world(client, db, tenant)
    bodies: list[Any] = [
        None,
        {},
        _filter(_item("campaign", "==", "open", campaign_id=1)),  # not a member filter
        _filter(_item("Nope", "==", "x")),
    ]
    with (
        AppServer(analytics_settings, start_worker=False) as app,
        app.client(auth=tenant.auth) as http,
    ):
        for segment_id in [*segment_ids, "no-such-segment"]:
            for body in bodies:
                url = f"{BASE}/{segment_id}/members"
                expected = client.post(url, json=body)
                answer = http.post(url, json=body)
                assert (answer.status_code, answer.content) == (
                    expected.status_code,
                    expected.content,
                )
        assert http.post(f"{BASE}/{segment_ids[1]}/members", json=bodies[2]).status_code == 400


def test_a_back_end_that_cannot_answer_gives_the_envelope(
    client: httpx.Client, db: Database, tenant: Tenant, db_url: str
) -> None:
    segment_id = _world(client, db, tenant)[0]
    # Nothing listens on the port: every question to the back-end fails.
    down = test_settings(db_url, analytics_url="clickhouse://127.0.0.1:1/segmentd")
    url = f"{BASE}/{segment_id}/members"
    with AppServer(down, start_worker=False) as app, app.client(auth=tenant.auth) as http:
        answer = http.post(url, json=FILTERS[0])
        assert answer.status_code == 503, answer.text
        assert answer.json()["code"] == 30503
        assert answer.headers["Retry-After"] == "1"
        unfiltered = http.post(url)  # read on the system of record, as before
        assert unfiltered.status_code == 200
        assert unfiltered.json()["total"] == 30
