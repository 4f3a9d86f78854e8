"""Freshness and stuck jobs on both databases: the real lease queue (workers that claim a
build and die, their leases running out), the daily refresh on a clock the test moves, and
what ``GET /v1/segments/{id}/freshness``, ``GET /v1/status`` and ``GET /metrics`` say."""

from __future__ import annotations

import time
from collections.abc import Iterator
from datetime import timedelta

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from segmentd.domain.fields import FieldDef
from segmentd.jobs.build_queue import claim_job
from segmentd.jobs.build_worker import run_pending
from segmentd.jobs.refresh_runner import refresh_pending
from segmentd.services.segment_freshness import freshness, refresh_cutoff, tenant_health
from segmentd.settings import Settings
from segmentd.storage.db import Database
from tests.conftest import AppServer, Tenant
from tests.conftest import test_settings as settings_for
from tests.jobs.test_builds import add_catalog, add_members, add_segment
from tests.jobs.test_daily_refresh import (  # noqa: F401  (fixtures)
    DAY,
    add_stored_segment,
    condition_of,
    day_clock,
    joined,
)
from tests.support.day_leaf import stored
from tests.support.moving_clock import MovingClock

LEASE = 0.2  # seconds: a dead worker's lease runs out quickly
AGE_OVER_30 = {"relation": "and", "items": [{"field_name": "Age", "op": ">", "value": "30"}]}


@pytest.fixture
def settings(db_url: str) -> Settings:
    return settings_for(db_url, build_parallelism=1, lease_seconds=LEASE)


@pytest.fixture
def app(db: Database, settings: Settings) -> Iterator[AppServer]:
    """The app without its worker: the test claims and runs the jobs itself."""
    with AppServer(settings, start_worker=False) as server:
        yield server


def gauge(http: httpx.Client, name: str, **labels: str) -> float:
    for family in text_string_to_metric_families(http.get("/metrics").text):
        for sample in family.samples:
            if sample.name == name and sample.labels == labels:
                return float(sample.value)
    raise AssertionError(f"no {name} {labels}")


def claim_and_die(db: Database, owner: str) -> None:
    """A worker claims the build and dies holding it: its lease runs out."""
    claim = claim_job(db, owner, LEASE)
    assert claim is not None
    time.sleep(LEASE * 1.5)


def test_a_build_whose_workers_keep_dying_is_reported_stuck_until_it_ends(
    db: Database, settings: Settings, tenant: Tenant, app: AppServer
) -> None:
    add_catalog(db, tenant.id)
    add_members(db, tenant.id, 250)
    segment_id = add_segment(db, tenant.id, AGE_OVER_30)
    with app.client(auth=tenant.auth) as http:
        queued = http.get(f"/v1/segments/{segment_id}/freshness").json()
        assert queued["queue"] == {
            "state": "queued",
            "attempts": 0,
            "lease_expiries": 0,
            "stuck": False,
            "error": None,
        }
        assert queued["exact_at"] is None and queued["last_build_seconds"] is None

        claim_and_die(db, "worker-a")
        state = freshness(db, tenant.id, [segment_id], settings)[segment_id].build
        assert (state.state, state.attempts, state.lease_expiries) == ("retrying", 1, 0)
        claim_and_die(db, "worker-b")  # reclaims after a's lease ran out: one expiry
        state = freshness(db, tenant.id, [segment_id], settings)[segment_id].build
        assert (state.lease_expiries, state.stuck) == (1, False)
        assert gauge(http, "segmentd_stuck_jobs", queue="build") == 0

        claim_and_die(db, "worker-c")  # a second expiry: stuck (the default threshold)
        answer = http.get(f"/v1/segments/{segment_id}/freshness").json()
        assert answer["queue"]["stuck"] is True and answer["queue"]["lease_expiries"] == 2
        status = http.get("/v1/status").json()
        (stuck,) = status["stuck_jobs"]
        assert stuck["queue"] == "build" and stuck["segment_id"] == segment_id
        assert (stuck["lease_expiries"], stuck["attempts"]) == (2, 3)
        assert status["stuck_lease_expiries"] == 2
        assert gauge(http, "segmentd_stuck_jobs", queue="build") == 1
        assert gauge(http, "segmentd_queue_jobs", queue="build", state="retrying") == 1

        # A worker that lives finishes it (a fourth attempt, under the five allowed).
        assert run_pending(db, settings) == 1
        done = http.get(f"/v1/segments/{segment_id}/freshness").json()
        assert done["queue"]["state"] == "idle" and done["queue"]["stuck"] is False
        assert done["exact_at"] is not None and done["last_build_seconds"] > LEASE * 3
        assert http.get("/v1/status").json()["stuck_jobs"] == []
        assert gauge(http, "segmentd_stuck_jobs", queue="build") == 0


def test_another_tenants_stuck_job_and_segment_are_not_shown(
    db: Database, settings: Settings, tenant: Tenant, app: AppServer
) -> None:
    from tests.conftest import make_tenant

    other = make_tenant(db, "other")
    add_catalog(db, other.id)
    add_members(db, other.id, 50)
    segment_id = add_segment(db, other.id, AGE_OVER_30)
    for owner in ("a", "b", "c"):
        claim_and_die(db, owner)
    with app.client(auth=tenant.auth) as http:
        assert http.get(f"/v1/segments/{segment_id}/freshness").status_code == 404
        assert http.get("/v1/status").json()["stuck_jobs"] == []
        assert gauge(http, "segmentd_stuck_jobs", queue="build") == 1  # summed over tenants
    assert tenant_health(db, other.id, settings).stuck[0].subject == segment_id


def test_a_refresh_is_overdue_after_the_grace_past_the_day_boundary(
    db: Database,
    settings: Settings,
    tenant: Tenant,
    joined: FieldDef,  # noqa: F811
    day_clock: MovingClock,  # noqa: F811
    app: AppServer,
) -> None:
    segment_id = add_stored_segment(db, tenant.id, condition_of(stored(joined, 2)))
    assert run_pending(db, settings) == 1
    built = freshness(db, tenant.id, [segment_id], settings)[segment_id]
    assert (built.time_dependent, built.exact_day, built.refresh_overdue) == (True, DAY, False)

    day_clock.advance(hours=1)  # 00:30 the next day: the refresh has an hour's grace
    assert refresh_cutoff(settings) == DAY
    assert not freshness(db, tenant.id, [segment_id], settings)[segment_id].refresh_overdue
    assert tenant_health(db, tenant.id, settings).overdue == []

    day_clock.advance(hours=1)  # 01:30: overdue
    assert refresh_cutoff(settings) == DAY + timedelta(days=1)
    with app.client(auth=tenant.auth) as http:
        answer = http.get(f"/v1/segments/{segment_id}/freshness").json()
        assert answer["refresh_overdue"] is True and answer["exact_day"] == DAY.isoformat()
        status = http.get("/v1/status").json()
        list_id = built_list(db, tenant, segment_id)
        overdue = {"segment_id": segment_id, "list_id": list_id, "exact_day": DAY.isoformat()}
        assert status["overdue_refreshes"] == [overdue]
        assert gauge(http, "segmentd_overdue_refresh_segments") == 1

        assert refresh_pending(db, settings) == 1
        refreshed = http.get(f"/v1/segments/{segment_id}/freshness").json()
        assert refreshed["refresh_overdue"] is False
        assert refreshed["exact_day"] == (DAY + timedelta(days=1)).isoformat()
        assert http.get("/v1/status").json()["overdue_refreshes"] == []
        assert gauge(http, "segmentd_overdue_refresh_segments") == 0


def built_list(db: Database, tenant: Tenant, segment_id: str) -> int:
    from segmentd.storage.segments import get_segment

    with db.read() as conn:
        segment = get_segment(conn, tenant.id, segment_id)
    assert segment is not None
    return segment.list_id
