"""The demo data set: loaded once through the real storage paths, fresh key on every load."""

from __future__ import annotations

import httpx

from segmentd.demo import MEMBER_COUNT, load_demo
from segmentd.storage.db import Database

from .conftest import LiveServer, wait_built
from .ingest_helpers import CAMPAIGNS, FIELDS, MEMBERS, SEGMENTS, TAGS, ok


def test_demo_loads_once_and_builds(db: Database, server: LiveServer) -> None:
    user, first_key = load_demo(db)
    again_user, key = load_demo(db)
    assert user == again_user == "demo" and key != first_key
    with httpx.Client(base_url=server.url, auth=(user, first_key)) as stale:
        assert stale.get(MEMBERS).status_code == 401
    with httpx.Client(base_url=server.url, auth=(user, key), timeout=30) as http:
        assert ok(http.get(MEMBERS))["total"] == MEMBER_COUNT  # not loaded twice
        member = ok(http.get(MEMBERS, params={"limit": 1}))["result"][0]
        assert set(member["fields"]) == {"Age", "City", "Plan", "SignupDate", "Birthday"}
        names = [f["field_name"] for f in ok(http.get(FIELDS))["result"]]
        assert names[3:] == ["Age", "City", "Plan", "SignupDate", "Birthday"]
        tags = {t["tag_name"] for t in ok(http.get(TAGS, params={"limit": 100}))["result"]}
        assert tags == {"vip", "newsletter", "churn-risk"}
        campaigns = ok(http.get(CAMPAIGNS))["result"]
        assert {c["status"] for c in campaigns} == {"completed", "sending"}
        assert all(
            c["stats"]["sent"] > c["stats"]["opened"] > c["stats"]["clicked"] > 0 for c in campaigns
        )
        segments = ok(http.get(SEGMENTS))["result"]
        assert len(segments) == 3
        for segment in segments:
            built = wait_built(http, segment["segment_id"])
            assert 0 < built["member_total"] < MEMBER_COUNT, built
