"""The CSV export under Basic auth streams exactly the segment's published members."""

from __future__ import annotations

import csv
import io

import httpx

from segmentd.storage.db import Database
from tests.conftest import Tenant, make_tenant, wait_built

SEGMENTS = "/v1/marketing/lists/segments"


def _seed(client: httpx.Client) -> str:
    assert (
        client.post(
            "/v1/marketing/lists/fields", json={"field_name": "Age", "field_type": 1}
        ).status_code
        == 200
    )
    members = [
        {
            "email": f"m{i}@example.com",
            "name": f"M {i}",
            "fields": {"Age": str(20 + i)},
            "tags": ["t"],
        }
        for i in range(6)
    ]
    answer = client.post(
        "/v1/marketing/lists/members", json={"update_existing": True, "members": members}
    )
    assert answer.status_code == 200, answer.text
    body = {
        "segment_name": "Older",
        "type": 0,
        "condition": {
            "relation": "and",
            "items": [{"field_name": "Age", "op": ">=", "value": "23"}],
        },
    }
    created = client.post(SEGMENTS, json=body)
    assert created.status_code == 200, created.text
    segment_id: str = created.json()["result"]["segment_id"]
    wait_built(client, segment_id)
    return segment_id


def test_export_streams_the_published_members(client: httpx.Client) -> None:
    segment_id = _seed(client)
    answer = client.get(f"/v1/segments/{segment_id}/export.csv")
    assert answer.status_code == 200
    assert answer.headers["content-type"].startswith("text/csv")
    rows = list(csv.reader(io.StringIO(answer.text.lstrip("\ufeff"))))
    assert rows[0] == ["email", "name", "phone", "Age", "tags"]
    assert sorted(r[0] for r in rows[1:]) == ["m3@example.com", "m4@example.com", "m5@example.com"]
    assert rows[1][3] == "23" and rows[1][4] == "t"


def test_export_is_private_to_its_tenant(
    client: httpx.Client, db: Database, server: object, anon: httpx.Client
) -> None:
    segment_id = _seed(client)
    other: Tenant = make_tenant(db, "other")
    stranger = anon.get(f"/v1/segments/{segment_id}/export.csv", auth=other.auth)
    assert stranger.status_code == 404 and stranger.json()["code"] == 30036
    nobody = anon.get(f"/v1/segments/{segment_id}/export.csv")
    assert nobody.status_code == 401 and nobody.json()["code"] == 30000
