"""What EngageLab's segments API answers for segments of segments and static segments,
which it cannot make: a static segment reads back with one ``$static`` item and cannot be
redefined; deleting a segment another one refers to is refused naming the referrers; its
members, pages and removals work as for any segment."""

from __future__ import annotations

import httpx

from segmentd.services.static_segments import StaticDraft, create_static_segment
from segmentd.storage.db import Database
from tests.conftest import Tenant, wait_built
from tests.support.factories import add_member, held, native_segment
from tests.support.ingest_helpers import error, ok

BASE = "/v1/marketing/lists/segments"
PARIS = {"relation": "and", "items": [{"field_name": "Email", "op": "contain", "value": "paris"}]}


def referring(db: Database, tenant: Tenant, name: str, segment_id: str) -> str:
    raw = {"kind": "segment", "segment": segment_id, "op": "in"}
    return native_segment(db, tenant.id, None, name, raw)


def test_a_static_segment_as_engagelab_reads_it(
    db: Database, tenant: Tenant, client: httpx.Client
) -> None:
    ann = add_member(db, tenant.id, "ann@paris.example")
    bob = add_member(db, tenant.id, "bob@paris.example")
    static = create_static_segment(db, tenant.id, StaticDraft(name="Picked", member_ids=[ann, bob]))
    found = ok(client.get(f"{BASE}/{static.id}"))["result"]
    assert found["condition"] == {
        "relation": "and",
        "items": [{"campaign_id": None, "field_name": "$static", "op": "==", "value": ""}],
    }
    assert (found["type"], found["status"], found["member_total"]) == (0, "2", 2)
    assert found["process"] == {
        "statusDesc": "segmentation complete",
        "complete": True,
        "percent": 100,
    }
    listed = ok(client.get(BASE))["result"]
    assert [s["segment_id"] for s in listed] == [static.id]
    page = ok(client.post(f"{BASE}/{static.id}/members", json={}))
    assert [m["email"] for m in page["result"]] == ["ann@paris.example", "bob@paris.example"]

    body = {"segment_name": "Picked", "type": 0, "condition": PARIS}
    refused = error(client.put(f"{BASE}/{static.id}", json=body))
    assert refused == "[condition]:segment Picked is static: its members are given, not a condition"
    removed = ok(
        client.request("DELETE", f"{BASE}/{static.id}/members", json={"member_ids": [str(bob)]})
    )
    assert removed == {"count": 1}
    assert held(db, static.id) == [ann]
    assert ok(client.delete(f"{BASE}/{static.id}")) == {"count": 1}


def test_deleting_a_segment_others_refer_to_is_refused(
    db: Database, tenant: Tenant, client: httpx.Client
) -> None:
    add_member(db, tenant.id, "ann@paris.example")
    paris = ok(client.post(BASE, json={"segment_name": "Paris", "type": 0, "condition": PARIS}))
    paris_id = paris["result"]["segment_id"]
    wait_built(client, paris_id)
    fans = referring(db, tenant, "Fans", paris_id)
    wait_built(client, fans)
    shown = ok(client.get(f"{BASE}/{fans}"))["result"]["condition"]["items"]
    assert shown[0]["field_name"] == "$native"
    answer = client.delete(f"{BASE}/{paris_id}")
    assert error(answer) == "[segment_id]:segment Paris is used by segments: Fans"
    assert ok(client.delete(f"{BASE}/{fans}")) == {"count": 1}
    assert ok(client.delete(f"{BASE}/{paris_id}")) == {"count": 1}
