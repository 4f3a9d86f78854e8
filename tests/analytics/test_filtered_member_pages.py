"""Filtered member pages (``POST /v1/marketing/lists/segments/{id}/members`` with a condition)
answered on the embedded analytics back-end give the very responses of the system of record:
the same requests to an app without the setting and to one with it, byte for byte (several
filters, pages at the start, the middle and past the end, a segment by field and one by
campaign engagement), after a change too (the copy is synced first); a back-end that cannot
answer gives the envelope's 503."""

from __future__ import annotations

import re
from typing import Any

import httpx
import sqlalchemy as sa

from segmentd.analytics.read_point import read_point
from segmentd.domain.fields import CampaignStatus
from segmentd.settings import Settings
from segmentd.storage import analytics_outbox as outbox
from segmentd.storage.db import Database
from segmentd.storage.schema import campaigns
from tests.conftest import AppServer, Tenant, test_settings, wait_built
from tests.support.analytics_world import write_members
from tests.support.factories import add_activity, add_campaign, add_field, add_member
from tests.support.ui_support import Ui

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
    client: httpx.Client, db: Database, tenant: Tenant, settings: Settings
) -> None:
    segment_ids = _world(client, db, tenant)
    on_sql = _answers(client, segment_ids)
    assert {status for status, _ in on_sql} == {200}
    totals = {httpx.Response(200, content=body).json()["total"] for _, body in on_sql}
    assert len(totals) > 3  # the filters and segments select different members
    with (
        AppServer(settings, start_worker=False) as app,
        app.client(auth=tenant.auth) as http,
    ):
        assert _answers(http, segment_ids) == on_sql
        source = app.app.state.analytics
        assert source is not None and source.last_synced(tenant.id) is not None
        target = source.target  # the pages read the segments' copied membership
        assert set(read_point(target.engine, target.database, tenant.id).copies) == set(segment_ids)

        # A change the system of record takes through the outbox: the copy is synced first.
        outboxed = Database(settings.database_url, analytics_outbox=True)
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
    client: httpx.Client, db: Database, tenant: Tenant, settings: Settings
) -> None:
    segment_ids = _world(client, db, tenant)
    bodies: list[Any] = [
        None,
        {},
        _filter(_item("campaign", "==", "open", campaign_id=1)),  # not a member filter
        _filter(_item("Nope", "==", "x")),
    ]
    with (
        AppServer(settings, start_worker=False) as app,
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


def test_a_back_end_that_cannot_answer_gives_each_api_its_envelope(
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
        counted = {"type": 0, **FILTERS[0]}  # a count on the copy fails the same way
        preview = http.post("/v1/segments/preview", json=counted)
        assert preview.status_code == 503, preview.text
        assert preview.json()["code"] == 30503, preview.text
        ui = Ui(app, tenant.api_user, tenant.api_key)
        try:
            params = {"filter": "1", "subject_f": "tag", "op_f": "==", "tag_f": "vip"}
            page = ui.get(f"/ui/segments/{segment_id}", params=params)
            assert page.status_code == 503  # the UI's own page for it
            assert "text/html" in page.headers["content-type"]
            assert ui.get(f"/ui/segments/{segment_id}").status_code == 200
        finally:
            ui.close()


def _ui_filters(campaign: int) -> list[dict[str, str]]:
    on = {"filter": "1"}
    return [
        {**on, "subject_f": "field:City", "op_f": "==", "value_f": "Paris"},
        {**on, "subject_f": "field:City", "op_f": "!=", "value_f": "Paris"},
        {**on, "subject_f": "tag", "op_f": "==", "tag_f": "vip"},
        {**on, "subject_f": "campaign", "campaign_f": str(campaign), "activity_f": "open"},
        {**on, "subject_f": "campaign", "campaign_f": str(campaign), "activity_f": "notsent"},
        {
            **on,
            "subject_f": "engagement",
            "activity_f": "open",
            "count_op_f": ">=",
            "count_f": "1",
            "amount_f": "30",
            "unit_f": "days",
        },
        {**on, "subject_f": "field:City", "op_f": "==", "value_f": "x" * 300},  # refused
    ]


def _membership_section(page: httpx.Response) -> str:
    """The page's members part (table, totals, paging), without the session's CSRF token."""
    section = page.text.split('<h2 id="members-title">', 1)[1].split("</section>", 1)[0]
    return re.sub(r'name="csrf_token" value="[^"]*"', "", section)


def test_the_ui_member_filter_on_the_copy_shows_the_same_members(
    server: AppServer,
    client: httpx.Client,
    db: Database,
    tenant: Tenant,
    settings: Settings,
) -> None:
    segment_ids = _world(client, db, tenant)
    with db.read() as conn:
        campaign = int(conn.execute(sa.select(sa.func.max(campaigns.c.id))).scalar_one())
    on_sql = Ui(server, tenant.api_user, tenant.api_key)
    shown: list[tuple[int, str]] = []
    for segment_id in segment_ids:
        for params in _ui_filters(campaign):
            for offset in ("0", "20", "1000"):
                page = on_sql.get(f"/ui/segments/{segment_id}", params={**params, "offset": offset})
                shown.append((page.status_code, _membership_section(page)))
    on_sql.close()
    assert len({section for _, section in shown}) > 10  # the filters show different members
    with AppServer(settings, start_worker=False) as app:
        ui = Ui(app, tenant.api_user, tenant.api_key)
        on_copy = []
        for segment_id in segment_ids:
            for params in _ui_filters(campaign):
                for offset in ("0", "20", "1000"):
                    url = f"/ui/segments/{segment_id}"
                    page = ui.get(url, params={**params, "offset": offset})
                    on_copy.append((page.status_code, _membership_section(page)))
        ui.close()
        assert on_copy == shown
        source = app.app.state.analytics
        assert source is not None and source.last_synced(tenant.id) is not None
