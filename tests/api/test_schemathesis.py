"""Schemathesis against /openapi.json of the real app over HTTP, on SQLite and PostgreSQL.

Every operation of the document gets generated requests, valid and invalid (a fixed seed,
derandomized, enough examples to reach each one), from a tenant with data of every kind, and
every built-in check runs on every answer: no server error, only documented status codes,
content types and headers, bodies that match their documented schemas, invalid input
refused, and so on. Half of the generated ids (and all in the documented examples) are
swapped for the tenant's real ones, so the happy paths are reached too; deletions, and changes
to a site's token or origins, get things of their own, so the rest stays reachable. One test
per database runs every operation and then checks that each answered a 2xx; ``ignored_auth``
sends its probes once per operation.
"""

from __future__ import annotations

import re
import zlib
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import httpx
import pytest
import schemathesis
from schemathesis.checks import CheckContext
from schemathesis.config import SchemathesisConfig
from schemathesis.generation.meta import ParameterLocation
from schemathesis.specs.openapi.checks import ignored_auth

from tests.api.test_tenant_isolation import HOOK_URL, Seeded, seeded_server
from tests.conftest import BACKENDS, LiveServer
from tests.support.child_server import ChildServer

pytestmark = pytest.mark.slow

MAX_EXAMPLES = 30
TREE_BODIES = (
    "POST /v1/segments",
    "POST /v1/segments/count",
    "PUT /v1/segments/{segment_id}",
    "PATCH /v1/segments/{segment_id}",
)
MAX_ID = 2**63 - 1
SEED = 20240611


# A guard against a hung server, not a speed check. The server's SQLite writers take turns
# (storage/write_turns.py), so an upload waits for the import chunk ahead of it, not for the
# whole import.
REQUEST_TIMEOUT = 30


@dataclass
class Target:
    server: LiveServer | ChildServer
    seeded: Seeded
    spare: dict[str, list[str]]  # ids that requests destroying or re-keying things may use up
    statuses: dict[str, set[int]] = field(default_factory=dict)  # by operation
    auth_enforced: set[str] = field(default_factory=set)  # operations whose auth is confirmed

    made: int = 0  # names made unique so far
    static_segment: str = ""  # a static segment, for the routes of static segments only

    def call(self, case: Any) -> None:
        label = f"{case.operation.method.upper()} {case.operation.path}"
        self.statuses.setdefault(label, set())
        _use_tenant_state(case, self)
        if _is_a_valid_upload_drawn_as_negative(case):
            if isinstance(case.query, dict):  # the tenant's state: its lists, the file's columns
                for name in ("list_id", "map"):
                    case.query.pop(name, None)
            response = case.call(base_url=self.server.url, timeout=REQUEST_TIMEOUT)
            assert response.status_code == 202, response.text  # valid, so accepted
        elif _is_a_file_drawn_as_negative(case):
            response = case.call(base_url=self.server.url, timeout=REQUEST_TIMEOUT)
            assert response.status_code in (200, 400, 404), response.text  # as its content says
        else:
            response = case.call_and_validate(
                base_url=self.server.url,
                timeout=REQUEST_TIMEOUT,
                excluded_checks=[ignored_auth],
                additional_checks=[self.ignored_auth],
            )
        if case.method.upper() == case.operation.method.upper():
            self.statuses[label].add(response.status_code)
        if label == "POST /v1/marketing/lists/fields" and response.status_code == 200:
            # A tenant holds at most 47 custom fields: leave room for the next ones.
            field_id = response.json()["result"]["field_id"]
            with self.server.client(auth=self.seeded.tenant.auth) as http:
                http.delete(f"/v1/marketing/lists/fields/{field_id}")
        if label == "POST /v1/webhooks" and response.status_code == 200:
            # A tenant holds at most 50 webhooks: leave room for the next ones.
            webhook_id = response.json()["result"]["webhook_id"]
            with self.server.client(auth=self.seeded.tenant.auth) as http:
                http.delete(f"/v1/webhooks/{webhook_id}")

    def ignored_auth(self, ctx: CheckContext, response: Any, case: Any) -> bool | None:
        """Schemathesis's ``ignored_auth`` as its own runner has it: the request sent again
        without credentials and with wrong ones once per operation (enforcement is the
        operation's), not after every 2xx; cases with credentials of their own (missing or
        generated) are still checked every time."""
        ctx.auth_enforced_operations = self.auth_enforced
        return ignored_auth(ctx, response, case)

    def unique(self, prefix: str) -> str:
        self.made += 1
        return f"{prefix}{self.made}"


def _spares(http: httpx.Client) -> dict[str, list[str]]:
    """Things made to be deleted, so that deleting never takes the others' ids away."""
    segments, fields, tags, campaigns = [], [], [], []
    for i in range(3):
        body = {
            "segment_name": f"Spare {i}",
            "type": 0,
            "condition": {
                "relation": "or",
                "items": [{"field_name": "Email", "op": "contain", "value": "@"}],
            },
        }
        segments.append(
            http.post("/v1/marketing/lists/segments", json=body).json()["result"]["segment_id"]
        )
        field = http.post(
            "/v1/marketing/lists/fields", json={"field_name": f"Spare{i}", "field_type": 0}
        )
        fields.append(str(field.json()["result"]["field_id"]))
        campaign = http.post(
            "/v1/marketing/campaigns", json={"campaign_name": f"Spare {i}", "status": "draft"}
        )
        campaigns.append(str(campaign.json()["result"]["campaign_id"]))
    members = [{"email": f"spare{i}@example.com", "tags": [f"spare{i}"]} for i in range(3)]
    http.post("/v1/marketing/lists/members", json={"update_existing": True, "members": members})
    listed = http.get("/v1/marketing/lists/tags", params={"limit": 100}).json()["result"]
    tags = [str(t["tag_id"]) for t in listed if t["tag_name"].startswith("spare")]
    site = http.post("/v1/sites", json={"name": "Spare"}).json()["result"]["site_id"]
    static = http.post("/v1/segments", json={"name": "Static", "kind": "static"}).json()["id"]
    webhook = http.post("/v1/webhooks", json={"url": HOOK_URL}).json()["result"]["webhook_id"]
    return {
        "segment_id": segments,
        "field_id": fields,
        "tag_id": tags,
        "campaign_id": campaigns,
        "site_id": [str(site)],
        "static": [static],
        "webhook_id": [str(webhook)],
    }


@pytest.fixture(scope="module", params=BACKENDS)
def target(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Target]:
    # The failed-login limiter at its default: ignored_auth's wrong credentials name a user
    # that does not exist, which the limiter never refuses (api/common/ratelimit.py).
    # The server in a process of its own: schemathesis draws and checks each case in this one
    # (docs/performance.md, "Test suite time").
    tmp = tmp_path_factory.mktemp("st")
    for server, http, seeded in seeded_server(request.param, tmp, child=True):
        spare = _spares(http)
        yield Target(server, seeded, spare, static_segment=spare.pop("static")[0])


def _config(api_user: str, api_key: str) -> SchemathesisConfig:
    return SchemathesisConfig.from_dict(
        {
            "seed": SEED,
            "auth": {"basic": {"username": api_user, "password": api_key}},
            "generation": {
                "max-examples": MAX_EXAMPLES,
                "deterministic": True,
                "database": "none",
            },
            "checks": {"enabled": True},
            # The coverage phase draws every variant of every keyword of a body's schema: for
            # the native condition tree (a recursive union of a dozen leaf kinds) that is
            # about 4,300 requests an operation, half the run. Those operations get the
            # fuzzing phase's cases; the tree's every variant is the property tests' job
            # (tests/domain/test_fuzz_conditions.py, tests/storage/test_native_agreement.py).
            "operations": [
                {"include-name": list(TREE_BODIES), "phases": {"coverage": {"enabled": False}}}
            ],
        }
    )


@pytest.fixture
def api_schema(target: Target, request: pytest.FixtureRequest) -> Any:
    # schemathesis 4.32 renames the test node through ``_nodeid``, which pytest 9 dropped.
    if not hasattr(request.node, "_nodeid"):
        request.node._nodeid = request.node.nodeid
    return schemathesis.openapi.from_url(
        f"{target.server.url}/openapi.json", config=_config(*target.seeded.tenant.auth)
    )


schema = schemathesis.pytest.from_fixture("api_schema")


def _destroys(case: Any, name: str) -> bool:
    """Whether the request deletes what ``name`` names, or changes how the look-up sees it."""
    path, method = case.operation.path, case.method.upper()
    if path.startswith("/v1/sites/"):
        return method != "GET"  # new origins or a new token would change the look-up's answers
    return method == "DELETE" and path.endswith(f"{{{name}}}")


def _use_real_ids(case: Any, target: Target) -> None:
    """Swap generated path ids for the tenant's real ones, for about half of the cases."""
    if not case.path_parameters or case.meta is None:
        return
    if (case.method.upper(), case.operation.path) == NATIVE_DELETE:
        return  # a segment of its own (_native_segment_state): EngageLab's spares stay
    for name, value in case.path_parameters.items():
        # A drawn id can be a real one (ids are small): destroy a spare instead.
        if _destroys(case, name) and str(value) == target.seeded.ids.get(name):
            case.path_parameters[name] = target.spare.get(name, [value])[0]
    if case.meta.is_negative_at(ParameterLocation.PATH):
        return  # the check expects this request to be refused
    explicit = case.meta.phase.name.value == "examples"  # the documented examples: always
    if not explicit and zlib.crc32(repr(sorted(case.path_parameters.items())).encode()) % 2:
        return
    for name in list(case.path_parameters):
        if _destroys(case, name) and target.spare.get(name):
            case.path_parameters[name] = target.spare[name][0]
        elif name in target.seeded.ids:
            case.path_parameters[name] = target.seeded.ids[name]


IMPORT_CSV = "email,name,tags\nann@example.com,Ann,VIP;Newsletter\n"


def _is_a_valid_upload_drawn_as_negative(case: Any) -> bool:
    """The upload documents two media types: a CSV string (text/csv) and a form with a file
    part (any other parts ignored). Schemathesis negates the string with an object, such as
    ``{"file": <the CSV example>}`` or the same with more parts, and sends that object as
    multipart/form-data, where it is exactly the documented form: a valid request, rightly
    accepted, so it is checked as one."""
    if case.meta is None or not case.operation.path.endswith("/imports"):
        return False
    elsewhere = [
        component.mode.is_negative
        for location, component in case.meta.components.items()
        if location != ParameterLocation.BODY
    ]
    form = case.media_type == "multipart/form-data" and isinstance(case.body, dict)
    return (
        case.meta.generation.mode.is_negative
        and not any(elsewhere)
        and form
        and ("file" in case.body)
    )


def _is_a_file_drawn_as_negative(case: Any) -> bool:
    """A static segment's CSV of emails, negated as for ``_is_a_valid_upload_drawn_as_negative``:
    the documented form with a file whose content may or may not be a valid CSV of emails
    (refused with 400, or read), checked for what the content says rather than as negative."""
    if case.meta is None or not case.operation.path.endswith("/members.csv"):
        return False
    if case.meta.is_negative_at(ParameterLocation.HEADER):
        return False  # credentials of its own (drawn or none): refused with 401, as checked
    form = case.media_type == "multipart/form-data" and isinstance(case.body, dict)
    return case.meta.generation.mode.is_negative and form and ("file" in case.body)


def _use_tenant_state(case: Any, target: Target) -> None:
    """Make a schema-valid request valid for this tenant too, as ``_use_real_ids`` does for
    path ids. A static schema cannot know the tenant's field names, which names are taken, or
    which status a campaign has reached; those rules answer 400 with code 30035 (documented)
    and are tested in their own files. Only positive cases change: invalid ones stay as drawn."""
    if case.meta is None or not case.meta.generation.mode.is_positive:
        return
    if case.meta.generation.mode.is_negative or any(
        component.mode.is_negative for component in case.meta.components.values()
    ):
        return  # the check expects this request to be refused
    path, method = case.operation.path, case.method.upper()
    body = case.body if isinstance(case.body, dict) else None
    if path.endswith("/imports") and method == "POST":
        # The columns must name the tenant's fields, and --map the file's columns.
        if isinstance(case.query, dict):
            case.query.pop("map", None)
        if isinstance(case.body, dict):  # multipart: only the file changes
            case.body = {**case.body, "file": IMPORT_CSV.encode()}
        elif isinstance(case.body, str):
            case.body = IMPORT_CSV
        return
    if path.endswith(("/was-member", "/sizes")) and isinstance(case.query, dict):
        # Drawn times and days are mostly outside what a history can hold (before year 1
        # in a zone, ranges over 366 days): the defaults (now, the last days) are valid.
        for name in ("at", "from", "to"):
            case.query.pop(name, None)
        return  # under /v1/segments, but not the native segments' own state
    if _native_segment_state(case, target):
        return
    if body is None:
        return
    if isinstance(body.get("condition"), dict):
        _real_condition(body["condition"], body.get("type"), target)
    if body.get("commandersact_id") is not None:  # taken or not: the tenant's state
        body["commandersact_id"] = None
    if "list_id" in body:
        body["list_id"] = None
    if path == "/v1/marketing/lists/fields" or path.endswith("/fields/{field_id}"):
        if isinstance(body.get("field_name"), str):
            body["field_name"] = target.unique("Fuzz")
        if method == "PUT":
            body.update(field_type=None, format=None)
    if path.startswith("/v1/webhooks"):
        # A URL the server may reach (the allow-list), and no segment (the tenant's ids are
        # not the generated ones).
        if isinstance(body.get("url"), str):
            body["url"] = HOOK_URL
        body.pop("segment_id", None)
    if path.endswith("/tags/{tag_id}") and isinstance(body.get("tag_name"), str):
        body["tag_name"] = target.unique("tag")
    if path.endswith("/campaigns/{campaign_id}"):
        body["status"] = None  # the seeded campaign is sending: it may not go back


def _real_condition(condition: dict[str, Any], segment_type: Any, target: Target) -> None:
    """Items naming what the tenant has: a text field for type 0, its campaign for type 1."""
    items = condition.get("items")
    if not isinstance(items, list):
        return
    for index, item in enumerate(items):
        value = item.get("value") if isinstance(item, dict) else None
        text = value if isinstance(value, str) else "x"
        if segment_type == 1:
            campaign = int(target.seeded.ids["campaign_id"])
            real = {"field_name": "campaign", "op": "==", "value": "open", "campaign_id": campaign}
        else:
            real = {"field_name": "Name", "op": "contain", "value": text}
        items[index] = real


NATIVE = "/v1/segments"
NATIVE_DELETE = ("DELETE", f"{NATIVE}/{{segment_id}}")
STATIC_ONLY = {
    ("POST", f"{NATIVE}/{{segment_id}}/members"),
    ("DELETE", f"{NATIVE}/{{segment_id}}/members"),
    ("POST", f"{NATIVE}/{{segment_id}}/members.csv"),
}
MEMBER_EMAIL = "m1@example.com"  # a member of the seeded tenant's default list
NAME_LEAF = {"kind": "field", "field": "Name", "op": "contain", "value": "x"}
MAX_DEPTH, MAX_LEAVES = 6, 50  # as /openapi.json states them (x-max-depth, x-max-leaves)


def _native_segment_state(case: Any, target: Target) -> bool:
    """The native segments API's cases made valid for the tenant: trees of its real field
    within the limits JSON Schema cannot state, free names, members of its list, a static
    segment for the static-only routes and a segment of its own to delete. False: not one
    of its cases."""
    path, method = case.operation.path, case.method.upper()
    if not path.startswith(NATIVE) or path == f"{NATIVE}/preview":
        return False
    if (method, path) in STATIC_ONLY:
        case.path_parameters["segment_id"] = target.static_segment
        csv = f"email\n{MEMBER_EMAIL}\n"
        if not path.endswith(".csv"):
            case.body = {"emails": [MEMBER_EMAIL]}
        elif isinstance(case.body, dict):  # multipart: only the file changes
            case.body = {**case.body, "file": csv.encode()}
        else:
            case.body = csv
        return True
    if (method, path) == NATIVE_DELETE:
        with target.server.client(auth=target.seeded.tenant.auth) as http:
            body = {"name": target.unique("Doomed"), "condition": NAME_LEAF}
            case.path_parameters["segment_id"] = http.post(NATIVE, json=body).json()["id"]
    body = case.body if isinstance(case.body, dict) else {}
    if "condition" in body:
        body["condition"] = _real_tree(body["condition"])
    if isinstance(body.get("name"), str):
        body["name"] = target.unique("Native ")
    for key in ("list_id", "commandersact_id"):
        if key in body:
            body[key] = None
    if "members" in body:  # only a static segment's (the schema says so)
        body["members"] = {"emails": [MEMBER_EMAIL]} if body.get("kind") == "static" else None
    return True


def _real_tree(node: Any) -> Any:
    """The drawn tree, its groups and negations kept up to the depth limit, every leaf
    naming the tenant's field Name; a lone leaf when it holds too many leaves."""
    leaves = [0]

    def real(node: Any, depth: int) -> Any:
        if isinstance(node, dict) and len(node) == 1 and depth <= MAX_DEPTH:
            key, value = next(iter(node.items()))
            if key == "not":
                return {"not": real(value, depth + 1)}
            if key in ("all", "any") and isinstance(value, list) and value:
                return {key: [real(item, depth + 1) for item in value]}
        leaves[0] += 1
        return dict(NAME_LEAF)

    tree = real(node, 1)
    return tree if leaves[0] <= MAX_LEAVES else dict(NAME_LEAF)


def _use_real_lookup(case: Any, target: Target) -> None:
    """A real site, token and visitor for about half of the cases."""
    if case.meta is None or case.meta.is_negative_at(ParameterLocation.QUERY):
        return
    query = case.query if isinstance(case.query, dict) else {}
    explicit = case.meta.phase.name.value == "examples"
    if not explicit and zlib.crc32(repr(sorted(query.items())).encode()) % 2:
        return
    real = {
        "site": target.seeded.ids["site_id"],
        "token": target.seeded.site_token,
        "tcid": "1010",
        "callback": "cb",
    }
    case.query = {**query, **{name: real[name] for name in real if name in query or name == "site"}}


LOOKUP = r"^/api/dms/"

# Operations the run cannot take past validation, each with why; the check fails when one
# becomes reachable, so that it is taken off this list.
NOT_REACHED: dict[str, str] = {}


@pytest.fixture
def every_operation_reached(target: Target) -> Iterator[None]:
    """Checks, once the schemathesis test has sent its last case, that the run went past
    validation everywhere: each operation of the document got requests and answered a 2xx to
    one. In the test's own teardown, so it holds however the tests are spread over processes."""
    target.statuses.clear()
    yield
    document = httpx.get(f"{target.server.url}/openapi.json", timeout=30).json()
    operations = {f"{m.upper()} {p}" for p, ops in document["paths"].items() for m in ops}
    statuses = dict(target.statuses)
    assert set(statuses) == operations
    for operation, reason in NOT_REACHED.items():
        assert not any(200 <= c < 300 for c in statuses.pop(operation)), f"reached: {reason}"
    unreached = {op: sorted(s) for op, s in statuses.items() if not any(200 <= c < 300 for c in s)}
    assert unreached == {}, "\n".join(f"{op}: {codes}" for op, codes in unreached.items())


@schema.parametrize()
def test_answers_match_the_openapi_document(
    case: Any, target: Target, every_operation_reached: None
) -> None:
    """Every operation; the Commanders Act look-up (JSONP and its JSON errors) with real
    sites and visitors, the others with real ids."""
    if re.match(LOOKUP, case.operation.path):
        _use_real_lookup(case, target)
    else:
        _use_real_ids(case, target)
    target.call(case)


@pytest.mark.parametrize(
    ("method", "path", "body", "status"),
    [
        ("GET", f"/v1/sites/{2**70}/token", None, 400),
        ("POST", f"/v1/sites/{2**70}/token/rotate", None, 400),
        ("PUT", f"/v1/sites/{2**70}", {"name": "x"}, 400),
        ("POST", "/v1/sites", {"name": "a\u0000b"}, 400),
    ],
)
def test_site_endpoints_answer_4xx_to_huge_ids_and_nul(
    target: Target, method: str, path: str, body: Any, status: int
) -> None:
    with target.server.client(auth=target.seeded.tenant.auth) as http:
        answer = http.request(method, path, json=body)
    assert answer.status_code == status, answer.text
