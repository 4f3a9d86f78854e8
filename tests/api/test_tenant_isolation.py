"""Tenant isolation and authentication, route by route, over HTTP on SQLite and PostgreSQL.

The routes are read from the app itself, so a new endpoint is covered the day it is added:
every route either needs the Basic credentials of a tenant, or the UI session, or is listed
in PUBLIC_ROUTES as public by design. Two tenants hold the same kind of data; tenant B
calls every route with tenant A's real ids and must get "not found", and A's data must not
change. Wrong or missing credentials answer 401 with code 30000 on every Basic-auth route.
"""

from __future__ import annotations

import hashlib
import hmac
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest
import sqlalchemy as sa
from fastapi.dependencies.models import Dependant
from fastapi.routing import iter_route_contexts
from starlette.routing import BaseRoute, Mount

from segmentd.api.app import create_app
from segmentd.api.common.basic_auth import current_tenant
from segmentd.api.ui.deps import current_user
from segmentd.storage.db import Database
from segmentd.storage.schema import credentials
from segmentd.storage.tenants import authenticate
from tests.conftest import (
    BACKENDS,
    AppServer,
    LiveServer,
    Tenant,
    make_tenant,
    migrated_database_url,
    test_settings,
    wait_built,
)
from tests.support.child_server import ChildServer
from tests.support.ingest_helpers import native_path
from tests.support.ui_support import Ui, form_data
from tests.support.webhook_rows import park_delivery

SEGMENTS = "/v1/marketing/lists/segments"
FIELDS = "/v1/marketing/lists/fields"
MEMBERS = "/v1/marketing/lists/members"
TAGS = "/v1/marketing/lists/tags"
CAMPAIGNS = "/v1/marketing/campaigns"
SITES = "/v1/sites"
IMPORTS = "/v1/marketing/lists/members/imports"
WEBHOOKS = "/v1/webhooks"
# Webhooks of the seeded tenants go to a loopback port nothing listens on (allow-listed).
HOOK_HOSTS = "127.0.0.1"
HOOK_URL = "http://127.0.0.1:9/hook"

# Public by design: health, the metrics (no tenant's data; SEGMENTD_METRICS_TOKEN guards
# them when set), the look-up (its own site token), the API docs, the UI's login and language
# forms, and the UI's catch-all 404 page. Everything else needs credentials.
PUBLIC_ROUTES = {
    ("GET", "/healthz"),
    ("GET", "/metrics"),
    ("GET", "/api/dms/segmentation/segments"),
    ("GET", "/api/dms/segmentation/segments/list"),
    ("GET", "/openapi.json"),
    ("GET", "/docs"),
    ("GET", "/ui"),
    ("GET", "/ui/"),
    ("GET", "/ui/login"),
    ("POST", "/ui/login"),
    ("POST", "/ui/logout"),
    ("POST", "/ui/language"),
    ("GET", "/ui/{rest:path}"),
    ("POST", "/ui/{rest:path}"),
}
AGE_30 = {"relation": "and", "items": [{"field_name": "Age", "op": ">=", "value": "30"}]}
NATIVE = "/v1/segments"
NATIVE_AGE_30 = {"all": [{"kind": "field", "field": "Age", "op": ">=", "value": "30"}]}
# Routes for static segments only: on B's own (computed) segment the body is right, and the
# answer says the segment is not static.
STATIC_ONLY = {
    ("POST", f"{NATIVE}/{{segment_id}}/members"),
    ("DELETE", f"{NATIVE}/{{segment_id}}/members"),
    ("POST", f"{NATIVE}/{{segment_id}}/members.csv"),
}
MEMBER_COUNT = 40


# --- the routes, as the app declares them ------------------------------------------------------


def _depends_on(dependant: Dependant, call: Any) -> bool:
    return dependant.call is call or any(_depends_on(d, call) for d in dependant.dependencies)


def _guard(method: str, path: str, route: BaseRoute) -> str:
    if (method, path) in PUBLIC_ROUTES:
        return "public"
    dependant = getattr(route, "dependant", None)
    if dependant is not None and _depends_on(dependant, current_tenant):
        return "basic"
    if dependant is not None and _depends_on(dependant, current_user):
        return "session"
    return "unguarded"


def _routes() -> list[tuple[str, str, str]]:
    """(method, path, guard) of every route; guard is "basic", "session" or "public"."""
    found = []
    for context in iter_route_contexts(create_app().routes):
        if context.path is None or not context.methods:
            continue  # a mount: checked by test_only_static_files_are_mounted
        for method in sorted(context.methods - {"HEAD"}):
            found.append(
                (method, context.path, _guard(method, context.path, context.original_route))
            )
    return found


def _mounts() -> set[str]:
    return {
        str(context.path)
        for context in iter_route_contexts(create_app().routes)
        if isinstance(context.original_route, Mount)
    }


def path_params(path: str) -> list[str]:
    return re.findall(r"{([^}:]+)}", path)


def _cases(wanted: Callable[[str, str, str], bool]) -> Any:
    return [
        pytest.param(method, path, guard, id=f"{method} {path}")
        for method, path, guard in ROUTES
        if wanted(method, path, guard)
    ]


ROUTES = _routes()
WITH_IDS = _cases(lambda _m, path, guard: guard != "public" and bool(path_params(path)))
BASIC = _cases(lambda _m, _p, guard: guard == "basic")
SESSION = _cases(lambda _m, _p, guard: guard == "session")
UI_POSTS = _cases(  # the catch-all only answers the UI's 404 page
    lambda method, path, _g: method == "POST" and path.startswith("/ui/") and ":path" not in path
)


# --- two tenants with the same kinds of data ---------------------------------------------------


@dataclass
class Seeded:
    """A tenant with data of every kind, and one real id per path parameter name."""

    tenant: Tenant
    ids: dict[str, str] = field(default_factory=dict)
    site_token: str = ""

    def fill(self, path: str) -> str:
        return re.sub(r"{([^}:]+)}", lambda match: self.ids[match[1]], path)


def _ok(answer: httpx.Response) -> Any:
    assert answer.status_code in (200, 202), answer.text
    return answer.json()


def member_rows(count: int = MEMBER_COUNT) -> list[dict[str, Any]]:
    return [
        {
            "email": f"m{i}@example.com",
            "name": f"Member {i}",
            "phone": f"+33 1 00 00 {i:02d}",
            "tcid": str(1000 + i),
            "fields": {
                "Note": f"note {i}",
                "Age": str(18 + i),
                "Joined": f"{i % 28 + 1:02d}/01/2024",
                "Birthday": f"{i % 12 + 1:02d}/{i % 28 + 1:02d}",
                "City": "Paris" if i % 2 else "Lyon",
            },
            "tags": ["VIP"] if i % 3 else ["Newsletter", "Old"],
        }
        for i in range(count)
    ]


def seed_tenant(http: httpx.Client, tenant: Tenant, db: Database) -> Seeded:
    """Fields of every type, members with tags and tcids, a sending campaign with events,
    built segments (by field and by campaign), a site with a token, an import job and a
    webhook with a parked delivery."""
    seeded = Seeded(tenant)
    for name, field_type, extra in (
        ("Note", 0, {}),
        ("Age", 1, {}),
        ("Joined", 2, {"format": "DD/MM/YYYY"}),
        ("Birthday", 3, {"format": "MM/DD"}),
        ("City", 4, {"options": ["Paris", "Lyon"]}),
    ):
        body = {"field_name": name, "field_type": field_type, **extra}
        field_id = _ok(http.post(FIELDS, json=body))["result"]["field_id"]
    seeded.ids["field_id"] = str(field_id)
    _ok(http.post(MEMBERS, json={"update_existing": True, "members": member_rows()}))
    listed = _ok(http.get(MEMBERS, params={"limit": 1}))["result"]
    seeded.ids["member_id"] = listed[0]["id"]
    tags = _ok(http.get(TAGS, params={"limit": 100}))["result"]
    seeded.ids["tag_id"] = str(next(t["tag_id"] for t in tags if t["tag_name"] == "VIP"))
    campaign = _ok(http.post(CAMPAIGNS, json={"campaign_name": "Spring", "status": "sending"}))
    campaign_id = campaign["result"]["campaign_id"]
    seeded.ids["campaign_id"] = str(campaign_id)
    events = [{"email": f"m{i}@example.com", "event": "open"} for i in range(0, 20, 2)]
    _ok(http.post(f"{CAMPAIGNS}/{campaign_id}/events", json={"events": events}))
    opened = {
        "relation": "and",
        "items": [
            {"field_name": "campaign", "op": "==", "value": "open", "campaign_id": campaign_id}
        ],
    }
    for name, segment_type, condition in (("Openers", 1, opened), ("Adults", 0, AGE_30)):
        body = {"segment_name": name, "type": segment_type, "condition": condition}
        segment_id = _ok(http.post(SEGMENTS, json=body))["result"]["segment_id"]
        wait_built(http, segment_id)
    seeded.ids["segment_id"] = segment_id
    site = _ok(http.post(SITES, json={"name": "Shop"}))["result"]
    seeded.ids["site_id"], seeded.site_token = str(site["site_id"]), site["token"]
    upload = http.post(IMPORTS, content="email,name\nz@example.com,Z\n", headers=_CSV)
    seeded.ids["job_id"] = str(_ok(upload)["result"]["job_id"])
    webhook = _ok(http.post(WEBHOOKS, json={"url": HOOK_URL}))["result"]["webhook_id"]
    seeded.ids["webhook_id"] = str(webhook)
    seeded.ids["delivery_id"] = str(park_delivery(db, tenant.id, webhook))
    return seeded


def seeded_server(
    backend: str, tmp: Path, child: bool = False
) -> Iterator[tuple[LiveServer | ChildServer, httpx.Client, Seeded]]:
    """A live server (the failed-login limiter at its default) over a new database of
    ``backend`` holding one seeded tenant, and a client signed in as that tenant; ``child``:
    the server in a process of its own."""
    for url in migrated_database_url(backend, tmp):
        db = Database(url)
        db.migrate()
        tenant = make_tenant(db)
        settings = test_settings(url, import_dir=str(tmp / "up"), webhook_allowed_hosts=HOOK_HOSTS)
        serving = ChildServer(settings, tmp / "server.log") if child else LiveServer(settings)
        with (
            serving as server,
            server.client(auth=tenant.auth, timeout=30) as http,
        ):
            yield server, http, seed_tenant(http, tenant, db)
        db.dispose()


_CSV = {"content-type": "text/csv"}


def snapshot(http: httpx.Client, seeded: Seeded) -> dict[str, Any]:
    """What a tenant owns, as its own API shows it (volatile times and progress left out)."""
    state: dict[str, Any] = {}
    for path in (SEGMENTS, FIELDS, TAGS, CAMPAIGNS, SITES, WEBHOOKS, f"{MEMBERS}?limit=100"):
        state[path] = _strip_times(_ok(http.get(path)))
    segment = seeded.ids["segment_id"]
    state["segment members"] = _ok(http.post(f"{SEGMENTS}/{segment}/members?limit=100"))["total"]
    state["token"] = _ok(http.get(f"{SITES}/{seeded.ids['site_id']}/token"))["result"]["token"]
    return state


def _strip_times(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _strip_times(v) for k, v in value.items() if not k.endswith("_time")}
    if isinstance(value, list):
        return [_strip_times(v) for v in value]
    return value


@dataclass
class World:
    server: AppServer
    a: Seeded
    b: Seeded
    api_a: httpx.Client
    api_b: httpx.Client
    ui_b: Ui


@pytest.fixture(scope="module", params=BACKENDS)
def world(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[World]:
    tmp = tmp_path_factory.mktemp("isolation")
    for url in migrated_database_url(request.param, tmp):
        db = Database(url)
        db.migrate()
        tenant_a, tenant_b = make_tenant(db, "a"), make_tenant(db, "b")
        # Many deliberate wrong-key calls: the throttle (tested in test_limits) stays out of it.
        settings = test_settings(
            url,
            auth_failure_limit=1_000_000,
            import_dir=str(tmp / "up"),
            webhook_allowed_hosts=HOOK_HOSTS,
        )
        with (
            AppServer(settings) as server,
            server.client(auth=tenant_a.auth, timeout=30) as api_a,
            server.client(auth=tenant_b.auth, timeout=30) as api_b,
        ):
            a, b = seed_tenant(api_a, tenant_a, db), seed_tenant(api_b, tenant_b, db)
            ui_b = Ui(server, tenant_b.api_user, tenant_b.api_key)
            yield World(server, a, b, api_a, api_b, ui_b)
            ui_b.close()
        db.dispose()


# --- requests that would succeed for the owner --------------------------------------------------


def valid_body(method: str, path: str, b: Seeded, a: Seeded) -> dict[str, Any]:
    """Keyword arguments of a request that tenant B could make on its own ids.

    A new route with a body gets none here and fails its test until it is given one, so that
    a "not found" is never masked by a validation error.
    """
    json_bodies: dict[tuple[str, str], Any] = {
        ("PUT", f"{SITES}/{{site_id}}"): {"name": "Renamed", "allowed_origins": []},
        ("PUT", f"{SEGMENTS}/{{segment_id}}"): {
            "segment_name": "Renamed",
            "type": 0,
            "condition": AGE_30,
        },
        ("POST", f"{SEGMENTS}/{{segment_id}}/members"): {"condition": AGE_30},
        ("DELETE", f"{SEGMENTS}/{{segment_id}}/members"): {"member_ids": [a.ids["member_id"]]},
        ("PUT", f"{FIELDS}/{{field_id}}"): {"field_name": "Renamed"},
        ("PUT", f"{TAGS}/{{tag_id}}"): {"tag_name": "Renamed"},
        ("PUT", f"{WEBHOOKS}/{{webhook_id}}"): {"url": HOOK_URL + "2", "events": ["left"]},
        ("PUT", f"{CAMPAIGNS}/{{campaign_id}}"): {"campaign_name": "Renamed"},
        ("POST", f"{CAMPAIGNS}/{{campaign_id}}/events"): {
            "events": [{"member_id": a.ids["member_id"], "event": "click"}]
        },
        ("PUT", f"{NATIVE}/{{segment_id}}"): {"name": "Natively", "condition": NATIVE_AGE_30},
        ("PATCH", f"{NATIVE}/{{segment_id}}"): {"name": "Patched"},
        ("POST", f"{NATIVE}/{{segment_id}}/members"): {"member_ids": [a.ids["member_id"]]},
        ("DELETE", f"{NATIVE}/{{segment_id}}/members"): {"member_ids": [a.ids["member_id"]]},
    }
    if (method, path) == ("POST", f"{NATIVE}/{{segment_id}}/members.csv"):
        return {"content": "email\nm0@example.com\n", "headers": {"content-type": "text/csv"}}
    forms: dict[tuple[str, str], list[tuple[str, str]]] = {
        ("POST", "/ui/segments/{segment_id}/members/remove"): [("member_id", a.ids["member_id"])],
        ("POST", "/ui/members/{member_id}/edit"): [("name", "Taken over"), ("tags", "Mine")],
        ("POST", "/ui/members/{member_id}/subscription"): [("subscribed", "0")],
        ("POST", "/ui/sites/{site_id}/origins"): [("allowed_origins", "https://b.example")],
        ("POST", "/ui/fields/{field_id}/edit"): [("field_name", "Renamed"), ("visible", "on")],
        ("POST", "/ui/tags/{tag_id}/rename"): [("tag_name", "Renamed")],
        ("POST", "/ui/campaigns/{campaign_id}/edit"): [
            ("campaign_name", "Renamed"),
            ("status", "sending"),
        ],
        ("POST", "/ui/segments/{segment_id}/edit"): [
            ("segment_name", "Renamed"),
            ("join_r", "all"),
            ("leaf", "r-0"),
            ("subject_r-0", "field:Age"),
            ("op_r-0", ">="),
            ("value_r-0", "30"),
        ],
    }
    if (method, path) in json_bodies:
        return {"json": json_bodies[(method, path)]}
    if (method, path) in forms:
        return {"data": forms[(method, path)]}
    return {}


def v1_error(path: str, code: int, message: str) -> dict[str, Any]:
    """The /v1/ envelope; the native API's names the input at fault (none here)."""
    native = native_path(path)
    return {"code": code, "message": message} | ({"path": None} if native else {})


def _call(http: httpx.Client, method: str, url: str, **kwargs: Any) -> httpx.Response:
    return http.request(method, url, **kwargs)


# --- the tests ----------------------------------------------------------------------------------


def test_every_route_is_guarded_or_public_by_design() -> None:
    unguarded = [(method, path) for method, path, guard in ROUTES if guard == "unguarded"]
    assert unguarded == [], "add a guard, or list the route in PUBLIC_ROUTES with a reason"
    assert len(ROUTES) > 50  # the app's routes were really found
    stale = PUBLIC_ROUTES - {(method, path) for method, path, _ in ROUTES}
    assert stale == set(), "PUBLIC_ROUTES names routes the app no longer has"


def test_only_static_files_are_mounted() -> None:
    assert _mounts() == {"/ui/static", "/docs/assets"}


@pytest.mark.parametrize(("method", "path", "guard"), WITH_IDS)
def test_another_tenants_ids_are_not_found(
    world: World, method: str, path: str, guard: str
) -> None:
    before = snapshot(world.api_a, world.a)
    url = world.a.fill(path)
    kwargs = valid_body(method, path, world.b, world.a)
    if guard == "basic":
        answer = _call(world.api_b, method, url, **kwargs)
        assert answer.status_code == 404, answer.text
        if path.startswith("/v1/"):
            assert answer.json() == v1_error(path, 30036, "not found")
        if kwargs:  # the same body on B's own ids is accepted: the 404 is not a 400 in disguise
            own = _call(world.api_b, method, world.b.fill(path), **kwargs)
            if (method, path) in STATIC_ONLY:
                assert own.status_code == 400 and "is dynamic" in own.text, own.text
            else:
                assert own.status_code in (200, 202), f"the request itself is wrong: {own.text}"
    else:
        data = kwargs.get("data", [])
        answer = world.ui_b.post(url, data) if method == "POST" else world.ui_b.get(url)
        assert answer.status_code == 404, answer.text
    assert snapshot(world.api_a, world.a) == before, "tenant B changed tenant A's data"


@pytest.mark.parametrize(("method", "path", "guard"), BASIC)
def test_wrong_or_missing_credentials_answer_30000(
    world: World, method: str, path: str, guard: str
) -> None:
    url = world.a.fill(path)
    wrong_key = (world.a.tenant.api_user, world.a.tenant.api_key + "x")
    unknown_user = ("nobody", world.a.tenant.api_key)
    with world.server.client(timeout=30) as anon:
        for auth in (wrong_key, unknown_user, None):
            answer = _call(anon, method, url, auth=auth)
            assert answer.status_code == 401, (auth, answer.text)
            assert answer.json() == v1_error(path, 30000, "authentication failed")
            assert answer.headers["www-authenticate"].startswith("Basic")
        garbled = _call(anon, method, url, headers={"Authorization": "Basic %%%"})
        assert garbled.status_code == 401 and garbled.json()["code"] == 30000


@pytest.mark.parametrize(("method", "path", "guard"), SESSION)
def test_ui_routes_need_a_session(world: World, method: str, path: str, guard: str) -> None:
    url = world.a.fill(path) if path_params(path) else path
    with world.server.client(timeout=30) as anon:
        answer = _call(anon, method, url, auth=world.a.tenant.auth)  # Basic is not a session
    assert answer.status_code in (303, 403), answer.text
    if answer.status_code == 303:
        assert answer.headers["location"].startswith("/ui/login")


@pytest.mark.parametrize(("method", "path", "guard"), UI_POSTS)
def test_ui_writes_need_the_csrf_token(world: World, method: str, path: str, guard: str) -> None:
    """Every form post of the UI, login and logout included, needs the session's CSRF token:
    another site's page cannot post with the user's cookie (SameSite=Lax aside)."""
    url = world.b.fill(path) if path_params(path) else path
    data = valid_body(method, path, world.b, world.b).get("data", [])
    for token in ([], [("csrf_token", "forged")]):
        answer = world.ui_b.http.post(url, data=form_data([*data, *token]))
        assert answer.status_code == 403, (token, answer.text)
    assert world.ui_b.get("/ui/segments").status_code == 200  # still signed in


def test_the_lookup_needs_the_sites_own_token(world: World) -> None:
    """The look-up is public, but an explicit tcid needs the site's token, not another's."""
    lookup = "/api/dms/segmentation/segments"
    params = {"site": world.a.ids["site_id"], "tcid": "1020", "callback": "cb"}
    with world.server.client(timeout=30) as anon:
        other = anon.get(lookup, params={**params, "token": world.b.site_token})
        own = anon.get(lookup, params={**params, "token": world.a.site_token})
        listing = anon.get(
            f"{lookup}/list", params={"site": world.a.ids["site_id"], "token": world.b.site_token}
        )
    assert other.status_code == 401 and other.json()["error"] == "invalid_token"
    assert listing.status_code == 401
    assert own.status_code == 200 and own.text.startswith("/**/cb([")


def test_api_keys_are_stored_as_digests_and_compared_in_constant_time(
    db: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The database never holds a key; a right user, a wrong key and an unknown user all take
    one constant-time comparison of two digests (timing tells nothing about either)."""
    tenant = make_tenant(db, "hashed")
    with db.read() as conn:
        stored = conn.execute(
            sa.select(credentials.c.key_hash).where(credentials.c.api_user == tenant.api_user)
        ).scalar_one()
        everything = " ".join(str(row) for row in conn.execute(sa.select(credentials)).all())
    assert stored == hashlib.sha256(tenant.api_key.encode()).hexdigest()
    assert tenant.api_key not in everything
    compared: list[tuple[str, str]] = []
    real = hmac.compare_digest

    def counting(a: str, b: str) -> bool:
        compared.append((a, b))
        return real(a, b)

    monkeypatch.setattr(hmac, "compare_digest", counting)
    with db.read() as conn:
        assert authenticate(conn, tenant.api_user, tenant.api_key) == tenant.id
        assert authenticate(conn, tenant.api_user, "wrong") is None
        assert authenticate(conn, "nobody", tenant.api_key) is None
    assert len(compared) == 3 and all(len(a) == len(b) == 64 for a, b in compared)
