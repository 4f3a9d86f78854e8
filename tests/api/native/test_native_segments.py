"""The native segments API (``/v1/segments``) over HTTP, on SQLite and PostgreSQL: round
trips of native trees, paging, every error with the path of its input, the same segments as
EngageLab's API and the Commanders Act look-up see, references, and counts."""

from __future__ import annotations

from typing import Any

import httpx

from segmentd.storage.db import Database
from tests.conftest import Tenant, wait_until
from tests.support.factories import add_list, add_member, add_tag

BASE = "/v1/segments"
LOOKUP = "/api/dms/segmentation/segments"
TREE = {
    "all": [
        {"kind": "field", "field": "Email", "op": "ends_with", "value": "@paris.example"},
        {
            "any": [
                {"kind": "tags", "op": "any_of", "tags": ["vip"]},
                {"not": {"kind": "subscription", "status": "unsubscribed"}},
            ]
        },
    ]
}


def created(client: httpx.Client, body: dict[str, Any]) -> dict[str, Any]:
    answer = client.post(BASE, json=body)
    assert answer.status_code == 201, answer.text
    found: dict[str, Any] = answer.json()
    return found


def refused(answer: httpx.Response, status: int, path: str | None, code: int = 30035) -> str:
    """The message of an error in the native envelope, after checking the rest of it."""
    assert answer.status_code == status, answer.text
    body = answer.json()
    assert set(body) == {"code", "message", "path"}, body
    assert (body["code"], body["path"]) == (code, path), body
    message: str = body["message"]
    return message


def built(client: httpx.Client, segment_id: str) -> dict[str, Any]:
    def complete() -> bool:
        return bool(client.get(f"{BASE}/{segment_id}").json()["status"] == "complete")

    wait_until(complete, 60)
    found: dict[str, Any] = client.get(f"{BASE}/{segment_id}").json()
    return found


def _members(db: Database, tenant: Tenant) -> list[int]:
    add_tag(db, tenant.id, "vip")
    return [
        add_member(db, tenant.id, "ann@paris.example", tags=["vip"], tcid="1234"),
        add_member(db, tenant.id, "bob@paris.example", unsubscribed_at=1_700_000_000),
        add_member(db, tenant.id, "cy@lyon.example"),
    ]


def test_a_tree_round_trips_and_counts_as_it_builds(
    db: Database, tenant: Tenant, client: httpx.Client
) -> None:
    _members(db, tenant)
    segment = created(client, {"name": "Paris", "condition": TREE})
    assert segment["condition"] == TREE
    assert (segment["kind"], segment["status"], segment["refers_to"]) == (
        "computed",
        "building",
        [],
    )
    assert segment["description"].startswith("All of these hold: (Email ends_with")
    done = built(client, segment["id"])
    assert done["member_total"] == 1 and done["progress"] == 100
    count = client.post(f"{BASE}/count", json={"condition": TREE})
    assert count.status_code == 200 and count.json() == {"count": done["member_total"]}
    page = client.get(f"{BASE}/{segment['id']}/members").json()
    assert [(m["email"], m["subscription"]) for m in page["items"]] == [
        ("ann@paris.example", "subscribed")
    ]
    # The same segment for EngageLab's API and the Commanders Act side.
    engagelab = client.get(f"/v1/marketing/lists/segments/{segment['id']}").json()["result"]
    assert engagelab["segment_name"] == "Paris" and engagelab["member_total"] == 1
    site = client.get("/v1/sites").json()["result"][0]["site_id"]
    listed = client.get(f"/v1/sites/{site}/segments").json()["result"]
    assert {"segment_id": segment["id"], "commandersact_id": segment["commandersact_id"]} in [
        {k: s[k] for k in ("segment_id", "commandersact_id")} for s in listed
    ]
    assert _looked_up(client, site) == f'/**/cb(["{segment["commandersact_id"]}"]);'
    patched = client.patch(f"{BASE}/{segment['id']}", json={"commandersact_id": "0a0b0c0d"})
    assert (
        _looked_up(client, site)
        == '/**/cb(["0A0B0C0D"]);'
        == f'/**/cb(["{patched.json()["commandersact_id"]}"]);'
    )


def _looked_up(client: httpx.Client, site: int) -> str:
    """The Commanders Act look-up of the visitor with TCID 1234 (ann)."""
    params = {"site": site, "callback": "cb"}
    answer = client.get(LOOKUP, params=params, headers={"Cookie": "TCID=1234"}, auth=None)
    assert answer.status_code == 200, answer.text
    return answer.text


def test_put_patch_and_delete(db: Database, tenant: Tenant, client: httpx.Client) -> None:
    _members(db, tenant)
    segment = created(client, {"name": "Paris", "condition": TREE, "commandersact_id": "abcd0123"})
    assert segment["commandersact_id"] == "ABCD0123"
    lyon = {"all": [{"kind": "field", "field": "Email", "op": "contain", "value": "lyon"}]}
    put = client.put(f"{BASE}/{segment['id']}", json={"name": "Lyon", "condition": lyon})
    assert put.status_code == 200 and put.json()["condition"] == lyon
    assert built(client, segment["id"])["member_total"] == 1
    patched = client.patch(f"{BASE}/{segment['id']}", json={"commandersact_id": "00FF00FF"})
    assert patched.json()["commandersact_id"] == "00FF00FF"
    assert patched.json()["name"] == "Lyon" and patched.json()["condition"] == lyon
    renamed = client.patch(f"{BASE}/{segment['id']}", json={"name": "Lyon 2"}).json()
    assert renamed["name"] == "Lyon 2" and renamed["condition"] == lyon
    assert client.post(f"{BASE}/{segment['id']}/rebuild").status_code == 202
    deleted = client.delete(f"{BASE}/{segment['id']}")
    assert deleted.status_code == 204 and deleted.content == b""
    refused(client.get(f"{BASE}/{segment['id']}"), 404, None, code=30036)


def test_listing_pages_filters_by_name_and_list(
    db: Database, tenant: Tenant, client: httpx.Client
) -> None:
    other = add_list(db, tenant.id)
    leaf = {"kind": "subscription", "status": "subscribed"}
    for i in range(5):
        created(client, {"name": f"S{i}", "condition": leaf})
    created(client, {"name": "Elsewhere", "condition": leaf, "list_id": other})
    first = client.get(BASE, params={"limit": 4}).json()
    assert (first["total"], first["offset"], first["limit"], first["next_offset"]) == (6, 0, 4, 4)
    rest = client.get(BASE, params={"limit": 4, "offset": 4}).json()
    assert len(rest["items"]) == 2 and rest["next_offset"] is None
    names = {s["name"] for s in first["items"] + rest["items"]}
    assert names == {"S0", "S1", "S2", "S3", "S4", "Elsewhere"}
    assert [s["name"] for s in client.get(BASE, params={"list_id": other}).json()["items"]] == [
        "Elsewhere"
    ]
    assert client.get(BASE, params={"q": "s3"}).json()["total"] == 1


def test_errors_name_their_input(db: Database, tenant: Tenant, client: httpx.Client) -> None:
    add_tag(db, tenant.id, "vip")
    bad = {
        "all": [
            {"kind": "subscription", "status": "subscribed"},
            {"kind": "field", "field": "Age", "op": "in", "values": ["1", 2]},
        ]
    }
    message = refused(
        client.post(BASE, json={"name": "X", "condition": bad}), 400, "condition.all[1].field"
    )
    assert message == "field Age does not exist"
    email_in = {"kind": "field", "field": "Email", "op": "in", "values": ["a", 2]}
    refused(
        client.post(BASE, json={"name": "X", "condition": {"not": email_in}}),
        400,
        "condition.not.values[1]",
    )
    refused(
        client.post(f"{BASE}/count", json={"condition": {"not": email_in}}),
        400,
        "condition.not.values[1]",
    )
    refused(client.post(BASE, json={"name": "X"}), 400, "condition")
    refused(client.post(BASE, json={"name": "a*", "condition": TREE}), 400, "segment_name")
    refused(client.post(BASE, json={"name": "X", "kind": "odd", "condition": TREE}), 400, "kind")
    static_tree = {"name": "X", "kind": "static", "condition": TREE}
    refused(client.post(BASE, json=static_tree), 400, "condition")
    members = {"emails": ["a@b.example"]}
    refused(
        client.post(BASE, json={"name": "X", "condition": TREE, "members": members}), 400, "members"
    )
    refused(
        client.post(BASE, json={"name": "X", "condition": TREE, "list_id": 999}), 404, "list_id"
    )
    deep: dict[str, Any] = {"kind": "subscription", "status": "subscribed"}
    for _ in range(7):
        deep = {"not": deep}
    assert "at most 6 deep" in refused(
        client.post(BASE, json={"name": "D", "condition": deep}), 400, "condition" + ".not" * 6
    )
    leaf = {"kind": "subscription", "status": "subscribed"}
    created(client, {"name": "Taken", "condition": leaf})
    refused(client.post(BASE, json={"name": "Taken", "condition": leaf}), 409, "name")
    refused(client.get(f"{BASE}/{'0' * 24}"), 404, None, code=30036)
    refused(client.get(f"{BASE}/not-an-id"), 400, "segment_id")
    refused(client.patch(f"{BASE}/{'0' * 24}", json={"name": "Y"}), 404, None, code=30036)
    refused(
        client.post(BASE, content=b"{", headers={"content-type": "application/json"}), 400, None
    )
    assert client.put(BASE, json={}).status_code == 405
    for method in ("GET", "PUT", "DELETE"):
        for post_only in ("count", "preview"):
            wrong = client.request(method, f"{BASE}/{post_only}")
            refused(wrong, 405, None)
            assert wrong.headers["allow"] == "POST"
    refused(client.put(BASE, json={}), 405, None)
    anonymous = client.get(BASE, auth=("nobody", "wrong"))
    refused(anonymous, 401, None, code=30000)


def test_references_refuse_cycles_and_deletes(
    db: Database, tenant: Tenant, client: httpx.Client
) -> None:
    _members(db, tenant)
    paris = created(client, {"name": "Paris", "condition": TREE})
    built(client, paris["id"])
    refers = {"all": [{"kind": "segment", "segment": paris["id"], "op": "in"}]}
    vip = created(client, {"name": "Vip", "condition": refers})
    assert vip["refers_to"] == [{"segment_id": paris["id"], "name": "Paris"}]
    assert built(client, vip["id"])["member_total"] == 1
    assert client.get(f"{BASE}/{paris['id']}").json()["referred_by"] == [
        {"segment_id": vip["id"], "name": "Vip"}
    ]
    back = {"any": [{"kind": "segment", "segment": vip["id"], "op": "not_in"}]}
    message = refused(
        client.patch(f"{BASE}/{paris['id']}", json={"condition": back}),
        400,
        "condition.any[0].segment",
    )
    assert message == "references may not form a cycle: Paris -> Vip -> Paris"
    message = refused(client.delete(f"{BASE}/{paris['id']}"), 400, "segment_id")
    assert message == "segment Paris is used by segments: Vip"


def test_static_segments_members_by_hand_and_csv(
    db: Database, tenant: Tenant, client: httpx.Client
) -> None:
    ann, bob, cy = _members(db, tenant)
    static = created(
        client, {"name": "Picked", "kind": "static", "members": {"emails": ["ANN@paris.example"]}}
    )
    assert (static["kind"], static["condition"], static["member_total"]) == ("static", None, 1)
    added = client.post(f"{BASE}/{static['id']}/members", json={"member_ids": [bob, str(ann)]})
    assert added.json() == {"changed": 1, "unchanged": 1, "not_found": 0, "not_found_sample": []}
    csv = "email\ncy@lyon.example\nnobody@x.example\n"
    answer = client.post(
        f"{BASE}/{static['id']}/members.csv", content=csv, headers={"content-type": "text/csv"}
    )
    assert answer.json() == {
        "changed": 1,
        "unchanged": 0,
        "not_found": 1,
        "not_found_sample": ["nobody@x.example"],
    }
    upload = client.post(
        f"{BASE}/{static['id']}/members.csv", files={"file": ("m.csv", b"ann@paris.example\n")}
    )
    assert upload.json()["unchanged"] == 1
    taken = client.request(
        "DELETE", f"{BASE}/{static['id']}/members", json={"emails": ["cy@lyon.example"]}
    )
    assert taken.json()["changed"] == 1
    page = client.get(f"{BASE}/{static['id']}/members", params={"limit": 1}).json()
    assert (page["total"], page["next_offset"], len(page["items"])) == (2, 1, 1)
    assert cy not in [int(m["id"]) for m in page["items"]]
    refused(
        client.post(f"{BASE}/{static['id']}/members", json={"emails": ["x@nowhere.example"]}),
        400,
        "emails[0]",
    )
    message = refused(
        client.patch(f"{BASE}/{static['id']}", json={"condition": TREE}), 400, "condition"
    )
    assert "static" in message
    computed = created(client, {"name": "Computed", "condition": TREE})
    refused(
        client.post(f"{BASE}/{computed['id']}/members", json={"member_ids": [ann]}),
        400,
        "segment_id",
    )
    export = client.get(f"{BASE}/{static['id']}/export.csv")
    assert export.status_code == 200 and "ann@paris.example" in export.text
