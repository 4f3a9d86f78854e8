"""``GET /metrics``: the Prometheus text format.

Two sources: what this process (or, with ``PROMETHEUS_MULTIPROC_DIR``, every process of the
deployment) recorded (``segmentd.metrics``), and gauges read from the database at each
scrape (``DatabaseGauges``): queue depths, stuck jobs, overdue refreshes and failed
segments, summed over tenants (no tenant id is a label). The database gauges hold whichever
process did the work: a separate ``segmentd worker`` needs no metrics of its own for them.

With ``SEGMENTD_METRICS_TOKEN`` set, only ``Authorization: Bearer <token>`` is answered
(compared in constant time); otherwise the endpoint is open.
"""

from __future__ import annotations

import hmac
import logging
import time
from collections.abc import Iterator

import sqlalchemy as sa
from fastapi import Depends, FastAPI, Request
from fastapi.responses import JSONResponse, Response
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from prometheus_client.metrics_core import GaugeMetricFamily, Metric

from .. import metrics
from ..domain.statuses import SegmentStatus
from ..services.segment_freshness import refresh_cutoff
from ..settings import Settings
from ..storage.db import Database
from ..storage.job_health import overdue_segments, queue_depths, stuck_jobs
from ..storage.schema import segments
from .common.app_state import get_db, get_settings

log = logging.getLogger("segmentd")

METRICS_RESPONSES: dict[int | str, dict[str, object]] = {
    200: {
        "description": "Prometheus text exposition format",
        "content": {"text/plain": {"schema": {"type": "string"}}},
    },
    401: {
        "description": "SEGMENTD_METRICS_TOKEN is set and the request's bearer token is not it",
        "content": {"application/json": {"schema": {"type": "object"}}},
    },
}


class DatabaseGauges:
    """Gauges read from the database when collected (at each scrape)."""

    def __init__(self, db: Database, settings: Settings) -> None:
        self.db = db
        self.settings = settings

    def collect(self) -> Iterator[Metric]:
        up = GaugeMetricFamily(
            "segmentd_database_up", "Whether the scrape could read the job tables (1) or not (0)"
        )
        try:
            gauges = self._read()
        except Exception:
            log.exception("metrics: could not read the job tables")
            up.add_metric([], 0)
            yield up
            return
        up.add_metric([], 1)
        yield up
        yield from gauges

    def _read(self) -> list[Metric]:
        depth = GaugeMetricFamily(
            "segmentd_queue_jobs",
            "Unfinished jobs by queue and state (queued, running, retrying)",
            labels=["queue", "state"],
        )
        stuck = GaugeMetricFamily(
            "segmentd_stuck_jobs",
            "Unfinished jobs whose workers' leases ran out SEGMENTD_STUCK_LEASE_EXPIRIES times",
            labels=["queue"],
        )
        overdue = GaugeMetricFamily(
            "segmentd_overdue_refresh_segments",
            "Time-dependent segments whose refresh for today is overdue",
        )
        failed = GaugeMetricFamily(
            "segmentd_failed_segments", "Segments whose last build failed (status -1)"
        )
        with self.db.read() as conn:
            for (queue, state), count in sorted(queue_depths(conn, time.time()).items()):
                depth.add_metric([queue, state], count)
            found = stuck_jobs(conn, self.settings.stuck_lease_expiries)
            for queue in ("build", "refresh"):
                stuck.add_metric([queue], sum(job.queue == queue for job in found))
            overdue.add_metric([], len(overdue_segments(conn, refresh_cutoff(self.settings))))
            failures = conn.execute(
                sa.select(sa.func.count()).where(segments.c.status == SegmentStatus.FAILED)
            ).scalar_one()
            failed.add_metric([], failures)
        return [depth, stuck, overdue, failed]


def _authorized(request: Request, token: str | None) -> bool:
    if not token:
        return True
    scheme, _, given = (request.headers.get("authorization") or "").partition(" ")
    if scheme.lower() != "bearer":
        return False
    return hmac.compare_digest(given.strip().encode(), token.encode())


def install_metrics(app: FastAPI) -> None:
    @app.get(
        "/metrics",
        tags=["health"],
        summary="Prometheus metrics",
        response_class=Response,
        responses=METRICS_RESPONSES,
    )
    def prometheus_metrics(
        request: Request,
        db: Database = Depends(get_db),
        settings: Settings = Depends(get_settings),
    ) -> Response:
        if not _authorized(request, settings.metrics_token):
            return JSONResponse(
                {"error": "unauthorized", "message": "a bearer token is required"},
                status_code=401,
                headers={"WWW-Authenticate": "Bearer"},
            )
        body = generate_latest(metrics.registry()) + generate_latest(DatabaseGauges(db, settings))
        return Response(body, media_type=CONTENT_TYPE_LATEST)
