"""The segments list and the segment page show freshness: when the membership was last
exact, how long the last build took, its queue state, and a badge when its build is stuck."""

from __future__ import annotations

import re
import time
from collections.abc import Iterator

import pytest

from segmentd.jobs.build_queue import claim_job
from segmentd.jobs.build_worker import run_pending
from segmentd.settings import Settings
from segmentd.storage.db import Database
from tests.conftest import AppServer, Tenant
from tests.conftest import test_settings as settings_for
from tests.jobs.test_builds import add_catalog, add_members, add_segment
from tests.support.ui_support import Ui

LEASE = 0.2
AGE_OVER_30 = {"relation": "and", "items": [{"field_name": "Age", "op": ">", "value": "30"}]}


@pytest.fixture
def settings(db_url: str) -> Settings:
    return settings_for(db_url, build_parallelism=1, lease_seconds=LEASE)


@pytest.fixture
def ui(db: Database, settings: Settings, tenant: Tenant) -> Iterator[Ui]:
    """The UI of an app without its worker: the test runs the jobs itself."""
    add_catalog(db, tenant.id)
    add_members(db, tenant.id, 120)
    with AppServer(settings, start_worker=False) as server:
        session = Ui(server, tenant.api_user, tenant.api_key)
        yield session
        session.close()


def text_of(page: str, element_id: str) -> str:
    match = re.search(rf'id="{element_id}">(.*?)</dd>', page, re.S)
    assert match, page
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", match[1])).strip()


def test_a_stuck_build_shows_a_badge_until_a_worker_finishes_it(
    ui: Ui, db: Database, settings: Settings, tenant: Tenant
) -> None:
    segment_id = add_segment(db, tenant.id, AGE_OVER_30)
    page = ui.get(f"/ui/segments/{segment_id}").text
    assert text_of(page, "last-exact") == "never" and text_of(page, "build-queue") == "queued"
    for owner in ("a", "b", "c"):  # workers that die holding the lease
        assert claim_job(db, owner, LEASE) is not None
        time.sleep(LEASE * 1.5)
    page = ui.get(f"/ui/segments/{segment_id}").text
    assert text_of(page, "build-queue") == "retrying (attempt 3) stuck"
    assert "fresh-stuck" in ui.get("/ui/segments").text

    assert run_pending(db, settings) == 1
    page = ui.get(f"/ui/segments/{segment_id}").text
    assert text_of(page, "build-queue") == "idle"
    assert re.fullmatch(r"\d+\.\d s", text_of(page, "build-took"))
    assert re.fullmatch(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d[+-]\d{4}", text_of(page, "last-exact"))
    listed = ui.get("/ui/segments").text
    assert "fresh-stuck" not in listed and "built in" in listed
