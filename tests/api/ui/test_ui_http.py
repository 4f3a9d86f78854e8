"""The web UI over plain HTTP, on SQLite and PostgreSQL: sessions, CSRF, isolation, and every
page's actions checked against the EngageLab API's own view of the same state."""

from __future__ import annotations

import csv
import html
import io
import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC
from pathlib import Path
from typing import Any

import httpx
import pytest

from segmentd.domain.segment_graph import SegmentOwner
from segmentd.services.native_conditions import checked_native_condition
from segmentd.services.segment_service import insert_segment
from segmentd.storage.db import Database
from segmentd.storage.tenants import default_list_id, ensure_credential
from segmentd.storage.write_lock import lock_tenant_writes
from tests.conftest import (
    BACKENDS,
    AppServer,
    LiveServer,
    Tenant,
    make_tenant,
    migrated_database_url,
    test_settings,
    wait_built,
    wait_until,
)
from tests.support.ui_support import (
    FIELDS,
    MEMBER_COUNT,
    MEMBERS,
    PREVIEW,
    SEGMENTS,
    THREE_CONDITION_ROWS,
    THREE_CONDITIONS,
    Seed,
    Ui,
    api_message,
    builder_form,
    email_of,
    expected_three_conditions,
    form_data,
    ok,
    seed,
    slot_text,
)

SRC = Path(__file__).resolve().parents[3] / "src" / "segmentd"


@pytest.fixture
def ui(server: AppServer, tenant: Tenant) -> Iterator[Ui]:
    session = Ui(server, tenant.api_user, tenant.api_key)
    yield session
    session.close()


@dataclass
class Shared:
    """One seeded server per backend for the tests that only add segments of their own."""

    server: AppServer
    db: Database
    tenant: Tenant
    api: httpx.Client
    seed: Seed
    ui: Ui


@pytest.fixture(scope="module", params=BACKENDS)
def shared(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Shared]:
    for url in migrated_database_url(request.param, tmp_path_factory.mktemp("ui")):
        db = Database(url)
        db.migrate()
        tenant = make_tenant(db)
        with (
            AppServer(test_settings(url)) as server,
            server.client(auth=tenant.auth, timeout=30) as api,
        ):
            ui = Ui(server, tenant.api_user, tenant.api_key)
            yield Shared(server, db, tenant, api, seed(api), ui)
            ui.close()
        db.dispose()


def make_segment(api: httpx.Client, condition: dict[str, Any] | None = None, **extra: Any) -> str:
    body = {"segment_name": "Three", "type": 0, "condition": condition or THREE_CONDITIONS}
    segment_id: str = ok(api.post(SEGMENTS, json={**body, **extra}))["result"]["segment_id"]
    wait_built(api, segment_id)
    return segment_id


def api_members(api: httpx.Client, segment_id: str) -> list[str]:
    emails: list[str] = []
    while True:
        page = ok(api.post(f"{SEGMENTS}/{segment_id}/members?offset={len(emails)}&limit=100"))
        emails += [m["email"] for m in page["result"]]
        if len(emails) >= page["total"]:
            return emails


# --- sessions and CSRF ----------------------------------------------------------------------


def test_session_cookie_is_httponly_lax_and_scoped_to_ui(anon: httpx.Client) -> None:
    answer = anon.get("/ui/login")
    cookie = answer.headers["set-cookie"].lower()
    assert answer.status_code == 200
    assert "httponly" in cookie and "samesite=lax" in cookie and "path=/ui" in cookie
    assert 'name="csrf_token"' in answer.text


@pytest.mark.parametrize(
    "path",
    ["/ui/segments", "/ui/segments/new", "/ui/members", "/ui/fields", "/ui/sites", "/ui/x/y"],
)
def test_pages_redirect_to_login_without_session(anon: httpx.Client, path: str) -> None:
    answer = anon.get(path, follow_redirects=False)
    if path == "/ui/x/y":  # unknown pages are 404 for everyone
        assert answer.status_code == 404
        return
    assert answer.status_code == 303
    assert answer.headers["location"].startswith("/ui/login?next=")
    htmx = anon.get(path, headers={"HX-Request": "true"}, follow_redirects=False)
    assert htmx.headers["HX-Redirect"].startswith("/ui/login")


def test_wrong_key_answers_the_api_words_and_opens_no_session(
    server: AppServer, tenant: Tenant
) -> None:
    with pytest.raises(AssertionError):
        Ui(server, tenant.api_user, "not-the-key")
    http = server.client(follow_redirects=False)
    token = re.search(r'name="csrf_token" value="([^"]+)"', http.get("/ui/login").text)
    assert token
    form = {"csrf_token": token[1], "api_user": tenant.api_user, "api_key": "nope"}
    answer = http.post("/ui/login", data=form)
    assert answer.status_code == 401 and "authentication failed" in answer.text
    assert http.get("/ui/segments").status_code == 303


@pytest.mark.parametrize(
    "next_url, landing",
    [
        ("/ui/fields", "/ui/fields"),
        ("https://evil.example/", "/ui/segments"),
        ("//evil.example/ui/", "/ui/segments"),
    ],
)
def test_login_returns_only_inside_the_ui(
    server: AppServer, tenant: Tenant, next_url: str, landing: str
) -> None:
    http = server.client(follow_redirects=False)
    token = re.search(r'name="csrf_token" value="([^"]+)"', http.get("/ui/login").text)
    assert token
    form = {
        "csrf_token": token[1],
        "api_user": tenant.api_user,
        "api_key": tenant.api_key,
        "next": next_url,
    }
    assert http.post("/ui/login", data=form).headers["location"] == landing


@pytest.mark.parametrize(
    "path, data",
    [
        ("/ui/segments/new", builder_form("NoCsrf", THREE_CONDITION_ROWS)),
        ("/ui/logout", []),
        ("/ui/fields", [("field_name", "NoCsrf"), ("field_type", "0")]),
        ("/ui/builder/preview", builder_form("NoCsrf", THREE_CONDITION_ROWS)),
    ],
)
@pytest.mark.parametrize("token", [None, "wrong"])
def test_posts_without_the_csrf_token_are_refused(
    shared: Shared, path: str, data: Any, token: str | None
) -> None:
    ui, client = shared.ui, shared.api
    before = ok(client.get(SEGMENTS))["total"]
    sent = data + ([("csrf_token", token)] if token else [])
    answer = ui.http.post(path, data=form_data(sent))
    assert answer.status_code == 403
    assert ok(client.get(SEGMENTS))["total"] == before
    assert ui.get("/ui/segments").status_code == 200  # still signed in
    names = [f["field_name"] for f in ok(client.get("/v1/marketing/lists/fields"))["result"]]
    assert "NoCsrf" not in names


def test_csrf_header_is_accepted_for_htmx(shared: Shared) -> None:
    ui = shared.ui
    answer = ui.http.post(
        "/ui/builder/preview",
        data=form_data(builder_form("x", THREE_CONDITION_ROWS)),
        headers={"X-CSRF-Token": ui.csrf, "HX-Request": "true"},
    )
    assert answer.status_code == 200
    assert f">{len(expected_three_conditions())}<" in answer.text


def test_sign_out_ends_the_session(ui: Ui) -> None:
    assert ui.post("/ui/logout").status_code == 303
    assert ui.get("/ui/segments").status_code == 303


def test_a_new_key_ends_open_sessions(ui: Ui, db: Database, tenant: Tenant) -> None:
    assert ui.get("/ui/segments").status_code == 200
    with db.write() as conn:
        ensure_credential(conn, tenant.api_user, "a-brand-new-key")
    assert ui.get("/ui/segments").status_code == 303


def test_pages_carry_security_headers(shared: Shared) -> None:
    ui = shared.ui
    answer = ui.get("/ui/segments")
    csp = answer.headers["content-security-policy"]
    assert "script-src 'self'" in csp and "frame-ancestors 'none'" in csp
    assert answer.headers["x-frame-options"] == "DENY"
    assert answer.headers["cache-control"] == "no-store"


# --- isolation -------------------------------------------------------------------------------


def test_another_tenants_segment_is_not_found(shared: Shared) -> None:
    server, db, client = shared.server, shared.db, shared.api
    segment_id = make_segment(client)
    other = make_tenant(db, "other")
    intruder = Ui(server, other.api_user, other.api_key)
    for path in ("", "/edit", "/delete", "/export.csv", "/status"):
        assert intruder.get(f"/ui/segments/{segment_id}{path}").status_code == 404
    for path in ("/delete", "/rebuild", "/members/remove", "/edit"):
        answer = intruder.post(f"/ui/segments/{segment_id}{path}", [("member_id", "1")])
        assert answer.status_code == 404, path
    assert "Three" not in intruder.get("/ui/segments").text
    site_id = ok(client.get("/v1/sites"))["result"][0]["site_id"]
    assert intruder.post(f"/ui/sites/{site_id}/token").status_code == 404
    assert intruder.post(f"/ui/sites/{site_id}/rotate").status_code == 404
    after = ok(client.get(f"{SEGMENTS}/{segment_id}"))["result"]
    assert after["member_total"] == len(expected_three_conditions())


# --- the builder -----------------------------------------------------------------------------


def test_builder_saves_what_the_api_would(shared: Shared) -> None:
    ui, client = shared.ui, shared.api
    answer = ui.post("/ui/segments/new", builder_form("Three", THREE_CONDITION_ROWS))
    assert answer.status_code == 303, answer.text
    segment_id = answer.headers["location"].rsplit("/", 1)[1]
    segment = wait_built(client, segment_id)
    assert segment["condition"]["items"] == [
        {**item, "campaign_id": None} for item in THREE_CONDITIONS["items"]
    ]
    expected = [email_of(i) for i in expected_three_conditions()]
    assert segment["member_total"] == len(expected)
    assert sorted(api_members(client, segment_id)) == sorted(expected)


def test_builder_date_picker_saves_the_fields_format(shared: Shared) -> None:
    ui, client = shared.ui, shared.api
    rows = [{"field": "Joined", "op": ">=", "value": "2024-01-20"}]  # the date picker's value
    answer = ui.post("/ui/segments/new", builder_form("Joined late", rows))
    segment_id = answer.headers["location"].rsplit("/", 1)[1]
    segment = wait_built(client, segment_id)
    assert segment["condition"]["items"][0]["value"] == "20/01/2024"  # DD/MM/YYYY
    assert segment["member_total"] == sum(1 for i in range(MEMBER_COUNT) if (i % 28) + 1 >= 20)
    edit = ui.get(f"/ui/segments/{segment_id}/edit").text
    assert 'type="date" value="2024-01-20"' in edit


def test_builder_by_campaign(shared: Shared) -> None:
    ui, client, seeded = shared.ui, shared.api, shared.seed
    rows = [{"campaign": str(seeded.campaign_id), "op": "==", "value": "unopen"}]
    answer = ui.post("/ui/segments/new", builder_form("Unopened", rows, segment_type=1))
    segment = wait_built(client, answer.headers["location"].rsplit("/", 1)[1])
    assert segment["type"] == 1
    assert segment["condition"]["items"][0]["campaign_id"] == seeded.campaign_id
    assert segment["member_total"] == 20  # 40 were sent, the odd ones opened


def _invalid_cases(seeded: Seed) -> list[tuple[str, list[dict[str, str]], int, str]]:
    """(segment name, builder rows, segment type, the error slot beside the faulty input)."""
    return [
        ("bad.name", [{"field": "Age", "op": ">=", "value": "1"}], 0, "err-segment_name"),
        ("n", [{"field": "Age", "op": ">=", "value": "abc"}], 0, "err-0-value"),
        ("n", [{"field": "Age", "op": "contain", "value": "1"}], 0, "err-0-op"),
        ("n", [{"field": "tag", "op": "==", "value": "Nobody"}], 0, "err-0-value"),
        ("n", [{"field": "City", "op": "==", "value": "Rome"}], 0, "err-0-value"),
        ("n", [{"field": "Gone", "op": "==", "value": "x"}], 0, "err-0-field_name"),
        (
            "n",
            [
                {"field": "Age", "op": ">=", "value": "1"},
                {"field": "Birthday", "op": "==", "month": "2", "day": "30"},
            ],
            0,
            "err-1-value",
        ),
        (
            "n",
            [{"campaign": str(seeded.draft_campaign_id), "op": "==", "value": "open"}],
            1,
            "err-0-campaign_id",
        ),
    ]


def _api_body(name: str, rows: list[dict[str, str]], segment_type: int) -> dict[str, Any]:
    items = []
    for row in rows:
        if segment_type == 1:
            item = {"field_name": "campaign", "op": "==", "value": row["value"]}
            items.append({**item, "campaign_id": int(row["campaign"])})
        elif "month" in row:
            value = f"{int(row['month']):02d}/{int(row['day']):02d}"
            items.append({"field_name": row["field"], "op": row["op"], "value": value})
        else:
            items.append({"field_name": row["field"], "op": row["op"], "value": row["value"]})
    body = {"relation": "and", "items": items}
    return {"segment_name": name, "type": segment_type, "condition": body}


@pytest.mark.parametrize("case", range(8))
def test_builder_errors_use_the_api_words_beside_the_input(shared: Shared, case: int) -> None:
    ui, client, seeded = shared.ui, shared.api, shared.seed
    name, rows, segment_type, slot = _invalid_cases(seeded)[case]
    before = ok(client.get(SEGMENTS))["total"]
    api_words = api_message(client.post(SEGMENTS, json=_api_body(name, rows, segment_type)))
    page = ui.post("/ui/segments/new", builder_form(name, rows, segment_type))
    assert page.status_code == 400
    assert slot_text(page.text, slot) == api_words
    preview = ui.post("/ui/builder/preview", builder_form(name, rows, segment_type))
    assert slot_text(preview.text, slot) == api_words
    assert ok(client.get(SEGMENTS))["total"] == before


def test_preview_counts_like_a_build(shared: Shared) -> None:
    ui, client = shared.ui, shared.api
    preview = ui.post("/ui/builder/preview", builder_form("x", THREE_CONDITION_ROWS))
    shown = re.search(r'id="preview-count">(\d+)<', preview.text)
    assert shown and int(shown[1]) == len(expected_three_conditions())
    native = ok(client.post(PREVIEW, json={"type": 0, "condition": THREE_CONDITIONS}))
    assert native == {"count": len(expected_three_conditions())}
    segment_id = make_segment(client)
    built = ok(client.get(f"{SEGMENTS}/{segment_id}"))["result"]["member_total"]
    assert built == native["count"]


def test_preview_of_an_edit_leaves_out_removed_members(shared: Shared) -> None:
    ui, client = shared.ui, shared.api
    segment_id = make_segment(client)
    first = ok(client.post(f"{SEGMENTS}/{segment_id}/members?limit=1"))["result"][0]["id"]
    ok(client.request("DELETE", f"{SEGMENTS}/{segment_id}/members", json={"member_ids": [first]}))
    form = [*builder_form("x", THREE_CONDITION_ROWS), ("segment_id", segment_id)]
    shown = re.search(r'id="preview-count">(\d+)<', ui.post("/ui/builder/preview", form).text)
    assert shown and int(shown[1]) == len(expected_three_conditions()) - 1


@pytest.mark.parametrize(
    "body, status, code",
    [
        ({"type": 0, "condition": {"relation": "xor", "items": []}}, 400, 30035),
        ({"type": 2, "condition": THREE_CONDITIONS}, 400, 30035),
        ({"type": 0}, 400, 30035),
        ({"type": 0, "condition": THREE_CONDITIONS, "list_id": 999999}, 404, 30035),
    ],
)
def test_native_preview_validates_like_creation(
    shared: Shared, body: Any, status: int, code: int
) -> None:
    client, anon = shared.api, shared.server.client(timeout=30)
    answer = client.post(PREVIEW, json=body)
    assert answer.status_code == status and answer.json()["code"] == code
    assert anon.post(PREVIEW, json=body).json()["code"] == 30000


def test_builder_edits_a_segment(shared: Shared) -> None:
    ui, client = shared.ui, shared.api
    segment_id = make_segment(client)
    edit = ui.get(f"/ui/segments/{segment_id}/edit")
    assert 'value="Three"' in edit.text and 'name="month_1"' in edit.text
    rows = [{"field": "Age", "op": "<", "value": "20"}]
    answer = ui.post(f"/ui/segments/{segment_id}/edit", builder_form("Young", rows))
    assert answer.status_code == 303
    segment = wait_built(client, segment_id)
    assert segment["segment_name"] == "Young" and segment["member_total"] == 2


@pytest.mark.parametrize(
    "action, rows_after",
    [("add", 4), ("remove-1", 2), ("type", 1)],
)
def test_condition_rows_are_added_and_removed(shared: Shared, action: str, rows_after: int) -> None:
    ui = shared.ui
    form = [*builder_form("x", THREE_CONDITION_ROWS), ("action", action)]
    fragment = ui.post("/ui/builder/conditions", form, headers={"HX-Request": "true"})
    assert fragment.text.count('name="rows"') == rows_after
    page = ui.post("/ui/segments/new", form)  # without JavaScript: the whole page, unsaved
    assert page.status_code == 200 and page.text.count('name="rows"') == rows_after


@pytest.mark.parametrize(
    "field, ops, input_marker",
    [
        ("Age", [">=", "<="], 'type="number"'),
        ("Joined", [">", "<"], 'type="date"'),
        ("CreateTime", [">", "!="], 'type="date"'),
        ("Birthday", ["==", ">"], 'name="month_0"'),
        ("City", ["==", "!="], '<option value="Lyon"'),
        ("tag", ["==", "!="], '<option value="VIP"'),
        ("Name", ["contain", "does not contain"], 'autocomplete="off"'),
    ],
)
def test_field_picker_offers_only_the_fields_operators(
    shared: Shared, field: str, ops: list[str], input_marker: str
) -> None:
    ui = shared.ui
    from segmentd.domain.operators import Op

    row = ui.get("/ui/builder/row", params={"index": "0", "type": "0", "field_0": field}).text
    options = re.findall(r'<option value="([^"]+)"[^>]*>[^<]*\(\1\)', row)
    offered = {html.unescape(option) for option in options}
    for op in ops:
        assert op in offered
    assert offered <= {str(op) for op in Op}
    assert input_marker in row
    if field in ("Age", "Joined"):
        assert "contain" not in offered


# --- the segment page ----------------------------------------------------------------------------


def test_members_table_pages_and_filters_like_the_api(shared: Shared) -> None:
    ui, client = shared.ui, shared.api
    segment_id = make_segment(client)
    expected = [email_of(i) for i in expected_three_conditions()]
    first = ui.get(f"/ui/segments/{segment_id}").text
    second = ui.get(f"/ui/segments/{segment_id}?offset=20").text
    shown = re.findall(r"<td>(member\d+@example\.com)</td>", first + second)
    assert shown == expected  # by member id, as the API pages
    params = {"filter": "1", "field_0": "City", "op_0": "==", "value_0": "Paris"}
    filtered = ui.get(f"/ui/segments/{segment_id}", params=params).text
    condition = {"relation": "and", "items": [{"field_name": "City", "op": "==", "value": "Paris"}]}
    api = ok(
        client.post(f"{SEGMENTS}/{segment_id}/members?limit=20", json={"condition": condition})
    )
    assert re.findall(r"<td>(member\d+@example\.com)</td>", filtered) == [
        m["email"] for m in api["result"]
    ]
    bad = ui.get(f"/ui/segments/{segment_id}", params={**params, "value_0": "Rome"}).text
    bad_condition = {"relation": "and", "items": [{**condition["items"][0], "value": "Rome"}]}
    words = api_message(
        client.post(f"{SEGMENTS}/{segment_id}/members", json={"condition": bad_condition})
    )
    assert slot_text(bad, "err-0-value") == words


def test_remove_selected_members(shared: Shared) -> None:
    ui, client = shared.ui, shared.api
    segment_id = make_segment(client)
    page = ok(client.post(f"{SEGMENTS}/{segment_id}/members?limit=2"))["result"]
    ids = [m["id"] for m in page]
    form = [("member_id", member_id) for member_id in ids]
    answer = ui.post(f"/ui/segments/{segment_id}/members/remove", form)
    assert answer.status_code == 303
    assert "2 members removed" in ui.get(answer.headers["location"]).text
    total = len(expected_three_conditions()) - 2
    assert ok(client.get(f"{SEGMENTS}/{segment_id}"))["result"]["member_total"] == total
    ui.post(f"/ui/segments/{segment_id}/rebuild")
    wait_until(lambda: wait_built(client, segment_id)["member_total"] == total)
    assert not {m["email"] for m in page} & set(api_members(client, segment_id))


def test_export_csv_streams_the_published_members(shared: Shared) -> None:
    ui, client = shared.ui, shared.api
    ok(client.post("/v1/marketing/lists/members", json={
        "update_existing": True,
        "members": [{"email": email_of(7), "name": "=HYPERLINK(1)"}],
    }))  # fmt: skip
    segment_id = make_segment(client)
    answer = ui.get(f"/ui/segments/{segment_id}/export.csv")
    assert answer.headers["content-type"].startswith("text/csv")
    assert "attachment" in answer.headers["content-disposition"]
    rows = list(csv.reader(io.StringIO(answer.text.lstrip("\ufeff"))))
    assert rows[0] == ["email", "name", "phone", "Age", "Birthday", "Joined", "City", "tags"]
    by_email = {row[0]: row for row in rows[1:]}
    assert sorted(by_email) == sorted(email_of(i) for i in expected_three_conditions())
    assert by_email[email_of(7)] == [
        email_of(7), "'=HYPERLINK(1)", "+33 1 00 00 07", "25", "08/08", "08/01/2024", "Paris", "VIP"
    ]  # fmt: skip


def test_rebuild_and_delete(shared: Shared) -> None:
    ui, client = shared.ui, shared.api
    segment_id = make_segment(client)
    assert ui.post(f"/ui/segments/{segment_id}/rebuild").status_code == 303
    wait_built(client, segment_id)
    confirm = ui.get(f"/ui/segments/{segment_id}/delete")
    assert confirm.status_code == 200 and "Three" in confirm.text
    assert ok(client.get(f"{SEGMENTS}/{segment_id}"))["result"]["segment_name"] == "Three"
    assert ui.post(f"/ui/segments/{segment_id}/delete").headers["location"] == "/ui/segments"
    assert client.get(f"{SEGMENTS}/{segment_id}").json()["code"] == 30036


def test_a_segment_another_refers_to_is_not_deleted(shared: Shared) -> None:
    ui, client = shared.ui, shared.api
    segment_id = make_segment(client)
    with shared.db.write() as conn:
        tenant_id = shared.tenant.id
        lock_tenant_writes(conn, tenant_id)
        list_id = default_list_id(conn, tenant_id)
        raw = {"kind": "segment", "segment": segment_id, "op": "in"}
        stored = checked_native_condition(
            conn, tenant_id, raw, UTC, SegmentOwner(None, "Fans", list_id)
        )
        fans = insert_segment(
            conn, tenant_id, list_id=list_id, name="Fans", segment_type=0, condition=stored
        )
    refused = ui.post(f"/ui/segments/{segment_id}/delete")
    assert refused.headers["location"] == f"/ui/segments/{segment_id}"
    page = ui.get(refused.headers["location"]).text
    assert "The segment cannot be deleted: segment Three is used by segments: Fans" in page
    assert ui.post(f"/ui/segments/{fans}/delete").headers["location"] == "/ui/segments"
    assert ui.post(f"/ui/segments/{segment_id}/delete").headers["location"] == "/ui/segments"


def test_segment_page_describes_conditions_in_plain_words(shared: Shared) -> None:
    ui, client = shared.ui, shared.api
    segment_id = make_segment(client)
    page = ui.get(f"/ui/segments/{segment_id}").text
    for words in ("Age is at least “25”", "Birthday is on or before “10/31”", "has the tag “VIP”"):
        assert words in page
    status = ui.get(f"/ui/segments/{segment_id}/status", headers={"HX-Request": "true"})
    assert status.headers.get("HX-Refresh") == "true"  # complete: the poller reloads the page


def test_segments_list_searches_and_filters_by_type(shared: Shared) -> None:
    ui, client, seeded = shared.ui, shared.api, shared.seed
    make_segment(client)
    campaign = {
        "relation": "and",
        "items": [
            {
                "field_name": "campaign",
                "op": "==",
                "value": "open",
                "campaign_id": seeded.campaign_id,
            }
        ],
    }
    make_segment(client, campaign, segment_name="Openers", type=1)
    listing = ui.get("/ui/segments").text
    assert "Three" in listing and "Openers" in listing and "by campaign" in listing
    assert "Openers" not in ui.get("/ui/segments", params={"q": "thr"}).text
    by_campaign = ui.get("/ui/segments", params={"type": "1"}).text
    assert "Openers" in by_campaign and "Three" not in by_campaign


# --- members, fields, sites, language ---------------------------------------------------------


def test_members_page_pages_and_filters(shared: Shared) -> None:
    ui = shared.ui
    emails = re.findall(r"<td>(member\d+@example\.com)</td>", ui.get("/ui/members").text)
    assert emails == [email_of(i) for i in range(20)]
    params = {"filter": "1", "field_0": "tag", "op_0": "==", "value_0": "Newsletter"}
    shown = re.findall(
        r"<td>(member\d+@example\.com)</td>", ui.get("/ui/members", params=params).text
    )
    assert shown == [email_of(i) for i in range(0, 60, 3)][:20]


def test_fields_page_lists_and_creates_fields(ui: Ui, client: httpx.Client) -> None:
    seed(client)
    page = ui.get("/ui/fields").text
    assert "Birthday" in page and "MM/DD" in page and "Spring sale" in page
    form = [("field_name", "Score"), ("field_type", "1"), ("format", ".00"), ("visible", "on")]
    assert ui.post("/ui/fields", form).status_code == 303
    fields = ok(client.get("/v1/marketing/lists/fields"))["result"]
    assert any(f["field_name"] == "Score" for f in fields)
    again = ui.post("/ui/fields", form)
    words = api_message(
        client.post(
            "/v1/marketing/lists/fields",
            json={"field_name": "Score", "field_type": 1, "format": ".00"},
        )
    )
    assert again.status_code == 400 and slot_text(again.text, "err-field_name") == words


def test_site_token_reveal_and_rotate(shared: Shared) -> None:
    ui, client = shared.ui, shared.api
    site_id = ok(client.get("/v1/sites"))["result"][0]["site_id"]
    page = ui.get("/ui/sites").text
    assert f"/api/dms/segmentation/segments?site={site_id}&amp;callback=tC_funcEngage" in page
    revealed = ui.post(f"/ui/sites/{site_id}/token", headers={"HX-Request": "true"}).text
    token = ok(client.get(f"/v1/sites/{site_id}/token"))["result"]["token"]
    assert f'value="{token}"' in revealed
    rotated = ui.post(f"/ui/sites/{site_id}/rotate").text
    new_token = ok(client.get(f"/v1/sites/{site_id}/token"))["result"]["token"]
    assert new_token != token and f'value="{new_token}"' in rotated
    lookup = f"/api/dms/segmentation/segments/list?site={site_id}&token="
    assert client.get(lookup + token).status_code == 401
    assert client.get(lookup + new_token).status_code == 200


def test_french_wording_on_request(shared: Shared) -> None:
    ui = Ui(shared.server, shared.tenant.api_user, shared.tenant.api_key)
    segment_id = make_segment(shared.api)
    ui.post("/ui/language", [("lang", "fr"), ("back", "/ui/members")])
    page = ui.get("/ui/segments").text
    assert '<html lang="fr">' in page and "Nouveau segment" in page
    assert "Age est au moins “25”" in ui.get(f"/ui/segments/{segment_id}").text
    for path in ("/ui/segments/new", "/ui/members", "/ui/fields", "/ui/sites", "/ui/nope"):
        answer = ui.get(path)
        assert answer.status_code in (200, 404) and '<html lang="fr">' in answer.text


# --- packaging -------------------------------------------------------------------------------


def test_assets_are_served_and_shipped(anon: httpx.Client) -> None:
    htmx = anon.get("/ui/static/htmx.min.js")
    assert htmx.status_code == 200 and "htmx" in htmx.text[:200]
    assert anon.get("/ui/static/ui.css").status_code == 200
    import tomllib

    globs = tomllib.loads((SRC.parents[1] / "pyproject.toml").read_text())["tool"]["setuptools"]
    patterns = globs["package-data"]["segmentd"]
    shipped = {p for pattern in patterns for p in SRC.glob(pattern) if p.is_file()}
    assets = [SRC / "api" / "ui" / folder for folder in ("templates", "static")]
    ui_files = {p for folder in assets for p in folder.rglob("*") if p.is_file()}
    assert ui_files and ui_files <= shipped
    assert (SRC / "api" / "ui" / "static" / "htmx.LICENSE.txt").is_file()


def test_a_building_segment_shows_progress_and_is_polled(db: Database, db_url: str) -> None:
    tenant = make_tenant(db)
    with (
        LiveServer(test_settings(db_url), start_worker=False) as server,  # builds never run
        server.client(auth=tenant.auth) as api,
    ):
        body = {"segment_name": "Pending", "type": 0, "condition": THREE_CONDITIONS}
        ok(api.post(FIELDS, json={"field_name": "Age", "field_type": 1}))
        ok(api.post(FIELDS, json={"field_name": "Birthday", "field_type": 3}))
        ok(api.post(MEMBERS, json={"update_existing": True, "members": [
            {"email": "a@example.com", "tags": ["VIP"]}]}))  # fmt: skip
        segment_id = ok(api.post(SEGMENTS, json=body))["result"]["segment_id"]
        ui = Ui(server, tenant.api_user, tenant.api_key)
        listing = ui.get("/ui/segments").text
        assert "<progress" in listing and 'hx-trigger="every 1s"' in listing
        status = ui.get(f"/ui/segments/{segment_id}/status", headers={"HX-Request": "true"})
        assert "HX-Refresh" not in status.headers and 'hx-trigger="every 1s"' in status.text
        assert "segmentation in progress" in status.text
