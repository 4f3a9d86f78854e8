"""The demo data set: loaded once through the real storage paths, the same key on every load
(derived from the server secret), another key under another secret."""

from __future__ import annotations

from segmentd.demo import MEMBER_COUNT, load_demo
from segmentd.storage.db import Database
from tests.conftest import AppServer, test_settings, wait_built
from tests.support.ingest_helpers import CAMPAIGNS, FIELDS, MEMBERS, SEGMENTS, TAGS, ok


def test_demo_loads_once_and_builds(db: Database, db_url: str, server: AppServer) -> None:
    settings = test_settings(db_url)
    user, key = load_demo(db, settings)
    again_user, again_key = load_demo(db, settings)  # a restart of make run
    assert user == again_user == "demo" and key == again_key and len(key) == 32
    _, other_key = load_demo(db, test_settings(db_url, secret_key="another secret"))
    assert other_key != key
    with server.client(auth=(user, key)) as stale:
        assert stale.get(MEMBERS).status_code == 401  # the key of the other secret replaced it
    load_demo(db, settings)
    with server.client(auth=(user, key), timeout=30) as http:
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
