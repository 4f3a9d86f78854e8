"""A drop-in migration from Commanders Act: sites keep their numbers and segments their
8-hex ids, so tagged pages and page scripts keep working (docs/sites.md), on both databases.
"""

from __future__ import annotations

import re
from typing import Any

import httpx
import pytest

from segmentd.storage.db import Database
from tests.api.commandersact.test_commandersact import LIST, SITES, by_cookie, ids_of, lookup
from tests.conftest import AppServer, LiveServer, Tenant, make_tenant, wait_built
from tests.support.factories import add_member
from tests.support.ui_support import Ui

SEGMENTS = "/v1/marketing/lists/segments"
HEX8 = re.compile(r"[0-9A-F]{8}")
EVERYONE = {"relation": "and", "items": [{"field_name": "Email", "op": "contain", "value": "@"}]}


def new_site(http: httpx.Client, **body: Any) -> httpx.Response:
    return http.post(SITES, json={"name": "shop", **body})


def error_of(answer: httpx.Response, status: int, path: str) -> str:
    """The message of a refusal naming ``path``: in the native envelope's ``path`` (sites),
    or in the message's ``[path]:`` prefix (EngageLab's segments)."""
    assert answer.status_code == status, answer.text
    body = answer.json()
    assert body["code"] == 30035, body
    message: str = body["message"]
    if "path" in body:
        assert body["path"] == path, body
    else:
        assert message.startswith(f"[{path}]:"), message
    return message


def new_segment(http: httpx.Client, site_id: int, **extra: Any) -> httpx.Response:
    body = {"segment_name": "all", "type": 0, "list_id": site_id, "condition": EVERYONE}
    return http.post(SEGMENTS, json={**body, **extra})


def site_segments(http: httpx.Client, site_id: int) -> dict[str, dict[str, str]]:
    answer = http.get(f"{SITES}/{site_id}/segments")
    assert answer.status_code == 200, answer.text
    return {s["segment_id"]: s for s in answer.json()["result"]}


# --- site numbers ---------------------------------------------------------------------------


def test_a_site_keeps_its_number_and_later_sites_never_meet_it(
    db: Database, client: httpx.Client, anon: httpx.Client, server: LiveServer
) -> None:
    # A look-up of the number before it exists is cached as unknown: creating the site
    # must drop that entry.
    assert lookup(anon, 1234).status_code == 404
    made = new_site(client, site_id=1234)
    assert made.status_code == 200, made.text
    site = made.json()["result"]
    assert site["site_id"] == 1234 and site["token"]
    assert ids_of(lookup(anon, 1234)) == []
    # Numbered after the highest: sites, and another tenant's default list.
    after = new_site(client).json()["result"]["site_id"]
    assert after == 1235
    globex = make_tenant(db, "globex")
    with server.client(auth=globex.auth) as other:
        default = other.get(SITES).json()["result"][0]["site_id"]
        assert default == 1236
        # A number below the highest that is free is fine too.
        assert new_site(other, site_id=700).json()["result"]["site_id"] == 700
    assert new_site(client).json()["result"]["site_id"] == 1237


def test_a_taken_number_answers_409_without_saying_whose(
    db: Database, client: httpx.Client, server: AppServer, tenant: Tenant
) -> None:
    own = new_site(client, name="Secret shop name", site_id=4321)
    assert own.status_code == 200, own.text
    default = next(s for s in client.get(SITES).json()["result"] if s["is_default"])
    globex = make_tenant(db, "globex")
    with server.client(auth=globex.auth) as other:
        for taken in (4321, default["site_id"]):
            answer = new_site(other, site_id=taken)
            message = error_of(answer, 409, "site_id")
            assert message == f"site {taken} is taken"
        assert [s["is_default"] for s in other.get(SITES).json()["result"]] == [True]
    assert error_of(new_site(client, site_id=4321), 409, "site_id")


@pytest.mark.parametrize("site_id", [0, -1, 2**31, 2**70, "1234", 12.5, 1.5, True, [1], "١٢٣"])
def test_a_site_number_must_be_a_positive_integer_in_range(
    client: httpx.Client, site_id: Any
) -> None:
    error_of(new_site(client, site_id=site_id), 400, "site_id")


def test_an_integral_number_written_with_a_decimal_point_is_that_integer(
    client: httpx.Client,
) -> None:
    answer = new_site(client, site_id=1234.0)  # JSON Schema's "integer" holds 1234.0
    assert answer.status_code == 200, answer.text
    assert answer.json()["result"]["site_id"] == 1234


def test_the_largest_number_is_accepted_and_the_lookup_reaches_it(
    client: httpx.Client, anon: httpx.Client
) -> None:
    largest = 2**31 - 1
    assert new_site(client, site_id=largest).json()["result"]["site_id"] == largest
    assert ids_of(lookup(anon, largest)) == []
    assert new_site(client).json()["result"]["site_id"] == largest + 1


# --- segment ids ----------------------------------------------------------------------------


def test_segments_keep_their_commandersact_ids(
    db: Database, tenant: Tenant, client: httpx.Client, anon: httpx.Client
) -> None:
    site = new_site(client, site_id=1234).json()["result"]
    add_member(db, tenant.id, "ann@example.com", list_id=1234, tcid="77")
    given = new_segment(client, 1234, segment_name="VIP", commandersact_id="f92c4f26")
    drawn = new_segment(client, 1234, segment_name="prospect")
    assert given.status_code == 200 and drawn.status_code == 200, given.text + drawn.text
    # EngageLab's answer is unchanged by the extension.
    assert "commandersact_id" not in given.text and "F92C4F26" not in given.text
    assert given.json()["result"].keys() == drawn.json()["result"].keys()
    vip, prospect = given.json()["result"]["segment_id"], drawn.json()["result"]["segment_id"]
    wait_built(client, vip)
    wait_built(client, prospect)

    listed = site_segments(client, 1234)
    assert listed[vip] == {"segment_id": vip, "commandersact_id": "F92C4F26", "name": "VIP"}
    random_id = listed[prospect]["commandersact_id"]
    assert HEX8.fullmatch(random_id) and random_id != "F92C4F26"
    assert "commandersact_id" not in client.get(f"{SEGMENTS}/{vip}").text

    # The look-up and the list answer the Commanders Act ids.
    assert ids_of(lookup(anon, 1234, tcid="77", token=site["token"])) == sorted(
        ["F92C4F26", random_id]
    )
    assert ids_of(by_cookie(anon, 1234, "77")) == sorted(["F92C4F26", random_id])
    answer = anon.get(LIST, params={"site": 1234, "token": site["token"]})
    assert {(s["id"], s["label"]) for s in answer.json()} == {
        ("F92C4F26", "VIP"),
        (random_id, "prospect"),
    }


def test_a_commandersact_id_is_unique_in_the_tenant_only(
    db: Database, client: httpx.Client, server: LiveServer
) -> None:
    default = next(s for s in client.get(SITES).json()["result"] if s["is_default"])["site_id"]
    assert new_segment(client, default, commandersact_id="BBFAC450").status_code == 200
    for same in ("BBFAC450", "bbfac450", "BbFaC450"):
        message = error_of(new_segment(client, default, commandersact_id=same), 400,
                           "commandersact_id")  # fmt: skip
        assert "BBFAC450 is taken" in message
    globex = make_tenant(db, "globex")
    with server.client(auth=globex.auth) as other:
        theirs = next(s for s in other.get(SITES).json()["result"] if s["is_default"])
        made = new_segment(other, theirs["site_id"], commandersact_id="BBFAC450")
        assert made.status_code == 200, made.text
        segment_id = made.json()["result"]["segment_id"]
        listed = site_segments(other, theirs["site_id"])
        assert listed[segment_id]["commandersact_id"] == "BBFAC450"
        # Another tenant's site is not found.
        assert other.get(f"{SITES}/{default}/segments").status_code == 404


@pytest.mark.parametrize(
    "value", ["F92C4F2", "F92C4F261", "G92C4F26", " F92C4F26", "F92C-F26", "", "Ｆ92C4F26", 1234,
              True, ["F92C4F26"], "F92C4F2\x00"],
)  # fmt: skip
def test_a_malformed_commandersact_id_is_refused(client: httpx.Client, value: Any) -> None:
    default = next(s for s in client.get(SITES).json()["result"] if s["is_default"])["site_id"]
    answer = new_segment(client, default, commandersact_id=value)
    error_of(answer, 400, "commandersact_id")
    assert client.get(SEGMENTS).json()["total"] == 0


def test_the_ui_segment_page_shows_the_commandersact_id(
    server: AppServer, tenant: Tenant, client: httpx.Client
) -> None:
    default = next(s for s in client.get(SITES).json()["result"] if s["is_default"])["site_id"]
    made = new_segment(client, default, commandersact_id="0A1B2C3D")
    segment_id = made.json()["result"]["segment_id"]
    ui = Ui(server, tenant.api_user, tenant.api_key)
    try:
        page = ui.get(f"/ui/segments/{segment_id}")
    finally:
        ui.close()
    assert page.status_code == 200
    assert "<dt>Commanders Act id</dt><dd><code>0A1B2C3D</code></dd>" in page.text
