"""The Commanders Act segmentation API and the native site endpoints, on the real app.

Segments are published by writing their rows directly (a published generation and its
``segment_members``), so these tests pin the look-up's own rules; the real-time tests go
through the EngageLab ingestion endpoints and the real build worker. The look-up and the
list answer each segment's Commanders Act id (8 upper-case hex), not its EngageLab id.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
import sqlalchemy as sa
from typer.testing import CliRunner

from segmentd.cli import app as cli_app
from segmentd.random_ids import new_commandersact_id, new_segment_id
from segmentd.storage.db import Database
from segmentd.storage.schema import lists, segment_members, segments
from segmentd.storage.segments import next_segment_number
from segmentd.timefmt import now
from tests.conftest import (
    AppServer,
    LiveServer,
    Tenant,
    make_tenant,
    test_settings,
    wait_built,
    wait_until,
)
from tests.support.factories import add_field, add_member

LOOKUP = "/api/dms/segmentation/segments"
LIST = "/api/dms/segmentation/segments/list"
SITES = "/v1/sites"
JS = "text/javascript; charset=utf-8"


@dataclass
class SiteInfo:
    id: int
    token: str


def make_site(client: httpx.Client, name: str = "shop") -> SiteInfo:
    answer = client.post(SITES, json={"name": name})
    assert answer.status_code == 200, answer.text
    result = answer.json()["result"]
    return SiteInfo(result["site_id"], result["token"])


def publish(
    db: Database,
    tenant_id: int,
    site_id: int,
    member_ids: Iterable[int],
    *,
    name: str = "segment",
    generation: int = 1,
) -> str:
    """A segment of ``site_id`` whose published ``generation`` holds ``member_ids``; returns
    its Commanders Act id, which the look-up answers."""
    commandersact_id = new_commandersact_id()
    ids = list(member_ids)
    with db.write() as conn:
        conn.execute(
            sa.insert(segments).values(
                id=new_segment_id(), number=next_segment_number(conn, tenant_id),
                commandersact_id=commandersact_id, tenant_id=tenant_id,
                list_id=site_id, name=name, segment_type=0,
                condition="{}", status=2 if generation else 1, percent=100 if generation else 0,
                generation=generation, member_total=len(ids), created_at=now(),
                updated_at=now(),
            )
        )  # fmt: skip
        _add_rows(conn, tenant_id, commandersact_id, generation, ids)
    return commandersact_id


def _add_rows(
    conn: Any, tenant_id: int, commandersact_id: str, generation: int, ids: list[int]
) -> None:
    if ids:
        number = conn.execute(
            sa.select(segments.c.number).where(
                segments.c.tenant_id == tenant_id, segments.c.commandersact_id == commandersact_id
            )
        ).scalar_one()
        conn.execute(
            sa.insert(segment_members),
            [
                {"tenant_id": tenant_id, "segment_number": number, "generation": generation,
                 "member_id": member_id}
                for member_id in ids
            ],
        )  # fmt: skip


def commandersact_id_of(client: httpx.Client, site_id: int, segment_id: str) -> str:
    """The Commanders Act id of an EngageLab segment, read from the native site endpoint."""
    answer = client.get(f"{SITES}/{site_id}/segments")
    assert answer.status_code == 200, answer.text
    found = {s["segment_id"]: s["commandersact_id"] for s in answer.json()["result"]}
    return found[segment_id]


def lookup(http: httpx.Client, site: int, *, callback: str = "cb", **params: Any) -> httpx.Response:
    return http.get(LOOKUP, params={"site": site, "callback": callback, **params})


def by_cookie(http: httpx.Client, site: int, tcid: str, **headers: str) -> httpx.Response:
    cookie = {"Cookie": f"TCID={tcid}", **headers}
    return http.get(LOOKUP, params={"site": site, "callback": "cb"}, headers=cookie)


def ids_of(answer: httpx.Response, callback: str = "cb") -> list[str]:
    import json

    assert answer.status_code == 200, answer.text
    prefix, suffix = f"/**/{callback}(", ");"
    assert answer.text.startswith(prefix) and answer.text.endswith(suffix), answer.text
    ids: list[str] = json.loads(answer.text[len(prefix) : -len(suffix)])
    return ids


def json_error(answer: httpx.Response, status: int, error: str) -> None:
    assert answer.status_code == status, answer.text
    assert answer.headers["content-type"].startswith("application/json")
    assert answer.json()["error"] == error, answer.text


@pytest.fixture
def site(client: httpx.Client) -> SiteInfo:
    return make_site(client)


@dataclass
class Shared:
    """One server for checks that need no fresh database: visitor 1234 is in one segment."""

    anon: httpx.Client
    site: SiteInfo
    segment: str


@pytest.fixture(scope="module")
def shared(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Shared]:
    url = f"sqlite:///{tmp_path_factory.mktemp('shared') / 'segmentd.db'}"
    database = Database(url)
    database.migrate()
    owner = make_tenant(database)
    with LiveServer(test_settings(url), start_worker=False) as live:
        with live.client(auth=owner.auth) as http:
            site = make_site(http)
        member = add_member(database, owner.id, "ann@example.com", list_id=site.id, tcid="1234")
        segment = publish(database, owner.id, site.id, [member])
        with live.client() as anon:
            yield Shared(anon, site, segment)
    database.dispose()


# --- the look-up --------------------------------------------------------------------------


def test_cookie_lookup_answers_the_spec_bytes_and_headers(
    db: Database, tenant: Tenant, site: SiteInfo, anon: httpx.Client
) -> None:
    member = add_member(db, tenant.id, "ann@example.com", list_id=site.id, tcid="1234")
    other = add_member(db, tenant.id, "bob@example.com", list_id=site.id, tcid="999")
    first = publish(db, tenant.id, site.id, [member, other], name="VIP")
    second = publish(db, tenant.id, site.id, [member], name="new")
    publish(db, tenant.id, site.id, [other], name="not hers")
    answer = anon.get(LOOKUP, params={"site": site.id, "callback": "tC_funcEngage"},
                      headers={"Cookie": "TCID=1234"})  # fmt: skip
    expected = sorted([first, second])
    assert answer.content == f'/**/tC_funcEngage(["{expected[0]}","{expected[1]}"]);'.encode()
    assert answer.headers["content-type"] == JS
    assert answer.headers["x-content-type-options"] == "nosniff"
    assert answer.headers["cache-control"] == "private, no-store"


@pytest.mark.parametrize("cookie", [None, "55555", "not-digits", "12 34", "01234"])
def test_unknown_or_missing_visitor_gets_an_empty_list(shared: Shared, cookie: str | None) -> None:
    assert ids_of(by_cookie(shared.anon, shared.site.id, "1234")) == [shared.segment]
    headers = {"Cookie": f"TCID={cookie}"} if cookie else {}
    answer = shared.anon.get(
        LOOKUP, params={"site": shared.site.id, "callback": "cb"}, headers=headers
    )
    assert answer.content == b"/**/cb([]);"


def test_only_the_published_generation_of_the_sites_segments_counts(
    db: Database, tenant: Tenant, site: SiteInfo, anon: httpx.Client
) -> None:
    member = add_member(db, tenant.id, "ann@example.com", list_id=site.id, tcid="1234")
    published = publish(db, tenant.id, site.id, [member])
    never_built = publish(db, tenant.id, site.id, [], generation=0)
    rebuilt = publish(db, tenant.id, site.id, [], generation=2)
    with db.write() as conn:  # rows of a build in progress and of an old generation
        _add_rows(conn, tenant.id, never_built, 1, [member])
        _add_rows(conn, tenant.id, rebuilt, 1, [member])
        _add_rows(conn, tenant.id, rebuilt, 3, [member])
    assert ids_of(by_cookie(anon, site.id, "1234")) == [published]


def test_the_tcid_cookie_name_is_a_setting(db: Database, db_url: str, tenant: Tenant) -> None:
    with LiveServer(test_settings(db_url, tcid_cookie="VISITOR"), start_worker=False) as live:
        http = live.client(auth=tenant.auth)
        site = make_site(http)
        member = add_member(db, tenant.id, "ann@example.com", list_id=site.id, tcid="7")
        segment = publish(db, tenant.id, site.id, [member])
        params = {"site": site.id, "callback": "cb"}
        assert ids_of(http.get(LOOKUP, params=params, headers={"Cookie": "VISITOR=7"})) == [segment]
        assert ids_of(http.get(LOOKUP, params=params, headers={"Cookie": "TCID=7"})) == []


def test_tcid_parameter_needs_the_sites_token(
    db: Database, tenant: Tenant, site: SiteInfo, anon: httpx.Client
) -> None:
    member = add_member(db, tenant.id, "ann@example.com", list_id=site.id, tcid="1234")
    segment = publish(db, tenant.id, site.id, [member])
    assert ids_of(lookup(anon, site.id, tcid="1234", token=site.token)) == [segment]
    json_error(lookup(anon, site.id, tcid="1234"), 401, "token_required")
    for wrong in ["x" * 32, site.token[:-1], site.token.lower(), site.token + "A"]:
        if wrong != site.token:
            json_error(lookup(anon, site.id, tcid="1234", token=wrong), 401, "invalid_token")


def test_tcid_parameter_wins_over_the_cookie(
    db: Database, tenant: Tenant, site: SiteInfo, anon: httpx.Client
) -> None:
    ann = add_member(db, tenant.id, "ann@example.com", list_id=site.id, tcid="1")
    bob = add_member(db, tenant.id, "bob@example.com", list_id=site.id, tcid="2")
    for_ann, for_bob = (
        publish(db, tenant.id, site.id, [ann]),
        publish(db, tenant.id, site.id, [bob]),
    )
    answer = anon.get(
        LOOKUP,
        params={"site": site.id, "callback": "cb", "tcid": "2", "token": site.token},
        headers={"Cookie": "TCID=1"},
    )
    assert ids_of(answer) == [for_bob]
    assert ids_of(by_cookie(anon, site.id, "1")) == [for_ann]


def test_a_site_never_reads_another_sites_visitors(
    db: Database, client: httpx.Client, anon: httpx.Client, server: LiveServer
) -> None:
    a, b = make_site(client, "a"), make_site(client, "b")
    other_tenant = make_tenant(db, "globex")
    with server.client(auth=other_tenant.auth) as globex:
        c = make_site(globex, "c")
    tenant_id = _tenant_of(db, a.id)
    in_b = add_member(db, tenant_id, "ann@example.com", list_id=b.id, tcid="42")
    in_c = add_member(db, other_tenant.id, "ann@example.com", list_id=c.id, tcid="43")
    segment_b = publish(db, tenant_id, b.id, [in_b])
    segment_c = publish(db, other_tenant.id, c.id, [in_c])
    # Site A's token never opens site B or C, of the same tenant or not.
    for target in (b, c):
        json_error(lookup(anon, target.id, tcid="42", token=a.token), 401, "invalid_token")
        json_error(
            anon.get(LIST, params={"site": target.id, "token": a.token}), 401, "invalid_token"
        )
    # A's own token and cookie see nobody of B or C, even with the same visitor ids.
    assert ids_of(lookup(anon, a.id, tcid="42", token=a.token)) == []
    assert ids_of(by_cookie(anon, a.id, "43")) == []
    assert ids_of(by_cookie(anon, b.id, "42")) == [segment_b]
    assert ids_of(lookup(anon, c.id, tcid="43", token=c.token)) == [segment_c]


def _tenant_of(db: Database, site_id: int) -> int:
    with db.read() as conn:
        return int(
            conn.execute(sa.select(lists.c.tenant_id).where(lists.c.id == site_id)).scalar_one()
        )


@pytest.mark.parametrize(
    "callback",
    [
        "alert(1)//",
        "cb\n",
        "cb\nalert(1)",
        "cb;alert(1)",
        "ｃｂ",
        "cbé",
        "1cb",
        "a.b",
        "a" * 129,
        "<script>",
        "cb%0a",
    ],
)
def test_a_bad_callback_is_a_json_400_and_never_reflected(shared: Shared, callback: str) -> None:
    answer = lookup(shared.anon, shared.site.id, callback=callback)
    json_error(answer, 400, "invalid_callback")
    assert callback not in answer.text
    assert answer.headers["x-content-type-options"] == "nosniff"


@pytest.mark.parametrize("callback", ["cb", "tC_funcEngage", "$", "_x9", "jQuery_123$", "a" * 128])
def test_plain_identifiers_are_accepted(shared: Shared, callback: str) -> None:
    answer = lookup(shared.anon, shared.site.id, callback=callback)
    assert answer.content == f"/**/{callback}([]);".encode()


@pytest.mark.parametrize(
    ("params", "status", "error"),
    [
        ({"site": "1"}, 400, "missing_parameter"),
        ({"callback": "cb"}, 400, "missing_parameter"),
        ({"site": "", "callback": "cb"}, 400, "missing_parameter"),
        ({"site": "12a", "callback": "cb"}, 400, "invalid_parameter"),
        ({"site": "-1", "callback": "cb"}, 400, "invalid_parameter"),
        ({"site": "١٢", "callback": "cb"}, 400, "invalid_parameter"),
        ({"site": "99999999", "callback": "cb"}, 404, "unknown_site"),
        ({"site": "SITE", "callback": "cb", "tcid": "12x", "token": "t"}, 400, "invalid_parameter"),
    ],
)
def test_bad_requests_get_clear_json_errors(
    shared: Shared, params: dict[str, str], status: int, error: str
) -> None:
    values = {k: str(shared.site.id) if v == "SITE" else v for k, v in params.items()}
    json_error(shared.anon.get(LOOKUP, params=values), status, error)


# --- the segment list ---------------------------------------------------------------------


def test_segment_list_needs_the_token(
    db: Database, tenant: Tenant, site: SiteInfo, anon: httpx.Client
) -> None:
    first = publish(db, tenant.id, site.id, [], name="prospect VIP")
    second = publish(db, tenant.id, site.id, [], name="nouveau client", generation=0)
    answer = anon.get(LIST, params={"site": site.id, "token": site.token})
    assert answer.status_code == 200, answer.text
    expected = [{"id": first, "label": "prospect VIP"}, {"id": second, "label": "nouveau client"}]
    assert sorted(answer.json(), key=lambda s: s["id"]) == sorted(expected, key=lambda s: s["id"])
    assert answer.text.startswith('[{"id":')  # compact, as in the spec's example
    assert answer.headers["cache-control"] == "private, no-store"
    json_error(anon.get(LIST, params={"site": site.id}), 401, "token_required")
    json_error(anon.get(LIST, params={"site": site.id, "token": "nope"}), 401, "invalid_token")
    json_error(anon.get(LIST, params={"site": 99999999, "token": site.token}), 404, "unknown_site")


# --- sites and tokens ---------------------------------------------------------------------


def test_default_list_gets_its_token_on_first_read(
    client: httpx.Client, anon: httpx.Client
) -> None:
    sites = client.get(SITES).json()["result"]
    default = next(s for s in sites if s["is_default"])
    assert default["has_token"] is False
    first = client.get(f"{SITES}/{default['site_id']}/token")
    assert first.status_code == 200 and first.headers["cache-control"] == "no-store"
    token = first.json()["result"]["token"]
    assert len(token) == 32 and token.isascii() and token.isalnum()
    assert client.get(f"{SITES}/{default['site_id']}/token").json()["result"]["token"] == token
    assert anon.get(LIST, params={"site": default["site_id"], "token": token}).status_code == 200


def test_rotation_stops_the_old_token_at_once(
    client: httpx.Client, anon: httpx.Client, site: SiteInfo
) -> None:
    assert anon.get(LIST, params={"site": site.id, "token": site.token}).status_code == 200
    rotated = client.post(f"{SITES}/{site.id}/token/rotate").json()["result"]["token"]
    assert rotated != site.token
    assert client.get(f"{SITES}/{site.id}/token").json()["result"]["token"] == rotated
    json_error(anon.get(LIST, params={"site": site.id, "token": site.token}), 401, "invalid_token")
    assert anon.get(LIST, params={"site": site.id, "token": rotated}).status_code == 200


def test_tokens_are_not_stored_in_clear(db: Database, client: httpx.Client, site: SiteInfo) -> None:
    with db.read() as conn:
        row = conn.execute(sa.select(lists).where(lists.c.id == site.id)).one()
    assert site.token not in f"{row.token_digest}{row.token_sealed}"
    assert len(row.token_digest) == 64


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("GET", "/{id}/token"),
        ("POST", "/{id}/token/rotate"),
        ("PUT", "/{id}"),
    ],
)
def test_another_tenants_site_is_not_found(
    db: Database, server: AppServer, site: SiteInfo, method: str, path: str
) -> None:
    stranger = make_tenant(db, "globex")
    with server.client(auth=stranger.auth) as http:
        answer = http.request(method, SITES + path.format(id=site.id), json={"allowed_origins": []})
    assert answer.status_code == 404 and answer.json()["code"] == 30036
    with server.client() as nobody:
        answer = nobody.request(method, SITES + path.format(id=site.id), json={})
    assert answer.status_code == 401 and answer.json()["code"] == 30000


def test_cli_prints_and_rotates_the_token(
    db: Database, db_url: str, client: httpx.Client, anon: httpx.Client, site: SiteInfo
) -> None:
    runner = CliRunner(env={"SEGMENTD_SECRET_KEY": test_settings(db_url).secret_key or ""})
    args = ["site", "token", "--site", str(site.id), "--database", db_url]
    shown = runner.invoke(cli_app, args)
    assert shown.exit_code == 0, shown.output
    assert shown.output.strip() == site.token
    rotated = runner.invoke(cli_app, [*args, "--rotate"])
    assert rotated.exit_code == 0, rotated.output
    new_token = rotated.output.strip()
    assert new_token != site.token and len(new_token) == 32
    # Another process rotated it: this server follows within the site cache's TTL.
    wait_until(lambda: anon.get(LIST, params={"site": site.id, "token": new_token}).is_success)
    assert client.get(f"{SITES}/{site.id}/token").json()["result"]["token"] == new_token
    missing = runner.invoke(cli_app, ["site", "token", "--site", "99999999", "--database", db_url])
    assert missing.exit_code == 1


# --- allowed origins ----------------------------------------------------------------------


def test_allowed_origins_restrict_the_lookup(
    db: Database, tenant: Tenant, client: httpx.Client, anon: httpx.Client, site: SiteInfo
) -> None:
    member = add_member(db, tenant.id, "ann@example.com", list_id=site.id, tcid="5")
    segment = publish(db, tenant.id, site.id, [member])
    answer = client.put(
        f"{SITES}/{site.id}",
        json={"allowed_origins": ["https://Shop.example/", "http://x.test:8080"]},
    )
    assert answer.status_code == 200, answer.text
    assert answer.json()["result"]["allowed_origins"] == [
        "https://shop.example",
        "http://x.test:8080",
    ]
    allowed = [
        {"Referer": "https://shop.example/products/1?x=2"},
        {"Origin": "https://shop.example"},
        {"Referer": "http://x.test:8080/"},
    ]
    for headers in allowed:
        assert ids_of(by_cookie(anon, site.id, "5", **headers)) == [segment], headers
    refused = [
        {},
        {"Referer": "https://evil.example/"},
        {"Referer": "https://shop.example.evil.example/"},
        {"Origin": "null"},
        {"Origin": "https://evil.example", "Referer": "https://shop.example/"},
        {"Referer": "http://shop.example/"},
    ]
    for headers in refused:
        json_error(by_cookie(anon, site.id, "5", **headers), 403, "origin_not_allowed")
    # With tcid and the token, a call without page headers (a server) is allowed ...
    assert ids_of(lookup(anon, site.id, tcid="5", token=site.token)) == [segment]
    # ... but a page from another origin is not.
    answer = anon.get(
        LOOKUP,
        params={"site": site.id, "callback": "cb", "tcid": "5", "token": site.token},
        headers={"Referer": "https://evil.example/"},
    )
    json_error(answer, 403, "origin_not_allowed")
    # Emptying the list opens the look-up to any page again.
    client.put(f"{SITES}/{site.id}", json={"allowed_origins": []})
    assert ids_of(by_cookie(anon, site.id, "5", Referer="https://evil.example/")) == [segment]


@pytest.mark.parametrize(
    "origin", ["shop.example", "ftp://shop.example", "https://shop.example/path", "https://"]
)
def test_bad_allowed_origins_are_refused(client: httpx.Client, site: SiteInfo, origin: str) -> None:
    answer = client.put(f"{SITES}/{site.id}", json={"allowed_origins": [origin]})
    assert answer.status_code == 400 and answer.json()["code"] == 30035, answer.text


# --- real time ----------------------------------------------------------------------------


def test_member_changes_reach_the_lookup_without_a_rebuild(
    client: httpx.Client, anon: httpx.Client
) -> None:
    site = make_site(client)
    assert client.post(
        "/v1/marketing/lists/fields", json={"field_name": "Level", "field_type": 1, "format": "0"}
    ).is_success
    made = client.post(
        "/v1/marketing/lists/segments",
        json={
            "segment_name": "Gold",
            "type": 0,
            "list_id": site.id,
            "condition": {
                "relation": "and",
                "items": [{"field_name": "Level", "op": ">=", "value": "3"}],
            },
        },
    )
    assert made.status_code == 200, made.text
    segment_id = commandersact_id_of(client, site.id, made.json()["result"]["segment_id"])
    wait_built(client, made.json()["result"]["segment_id"])

    def upsert(level: str, tags: list[str] | None = None) -> None:
        member: dict[str, Any] = {
            "email": "ann@example.com",
            "tcid": "777",
            "fields": {"Level": level},
        }
        body = {"update_existing": True, "list_id": site.id, "members": [member]}
        answer = client.post("/v1/marketing/lists/members", json=body)
        assert answer.status_code == 200 and not answer.json()["result"]["errors"], answer.text

    upsert("5")
    assert ids_of(lookup(anon, site.id, tcid="777", token=site.token)) == [segment_id]
    assert ids_of(by_cookie(anon, site.id, "777")) == [segment_id]
    upsert("1")
    assert ids_of(by_cookie(anon, site.id, "777")) == []


def test_campaign_events_reach_the_lookup(
    db: Database, tenant: Tenant, client: httpx.Client, anon: httpx.Client
) -> None:
    site = make_site(client)
    add_field(db, tenant.id, "Unused")
    campaign = client.post(
        "/v1/marketing/campaigns",
        json={"campaign_name": "Spring", "status": "sending", "list_id": site.id},
    )
    assert campaign.status_code == 200, campaign.text
    campaign_id = campaign.json()["result"]["campaign_id"]
    made = client.post(
        "/v1/marketing/lists/segments",
        json={
            "segment_name": "Clickers",
            "type": 1,
            "list_id": site.id,
            "condition": {
                "relation": "and",
                "items": [{"field_name": "campaign", "op": "==", "value": "click",
                           "campaign_id": campaign_id}],
            },
        },
    )  # fmt: skip
    assert made.status_code == 200, made.text
    segment_id = commandersact_id_of(client, site.id, made.json()["result"]["segment_id"])
    wait_built(client, made.json()["result"]["segment_id"])
    body = {"update_existing": True, "list_id": site.id,
            "members": [{"email": "bob@example.com", "tcid": "888"}]}  # fmt: skip
    assert client.post("/v1/marketing/lists/members", json=body).is_success
    assert ids_of(by_cookie(anon, site.id, "888")) == []
    events = {"events": [{"email": "bob@example.com", "event": "click"}]}
    answer = client.post(f"/v1/marketing/campaigns/{campaign_id}/events", json=events)
    assert answer.status_code == 200, answer.text
    assert ids_of(by_cookie(anon, site.id, "888")) == [segment_id]
