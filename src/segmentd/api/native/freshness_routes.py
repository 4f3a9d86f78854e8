"""``GET /v1/segments/{segment_id}/freshness`` and ``GET /v1/status``: how current a tenant's
segments are, and which of its jobs are stuck or overdue (``services.segment_freshness``).

Basic auth as on the EngageLab API; another tenant's segment answers "not found".
"""

from __future__ import annotations

from datetime import date
from typing import Literal

from fastapi import APIRouter, Depends
from pydantic import BaseModel, Field

from ...services.segment_freshness import Freshness, freshness, tenant_health
from ...settings import Settings
from ...storage.db import Database
from ...timefmt import format_time
from ..common.app_state import get_db, get_settings
from ..common.basic_auth import current_tenant
from ..common.envelope import NATIVE_ERROR_RESPONSES, not_found

router = APIRouter(prefix="/v1", tags=["segmentd extensions"], responses=NATIVE_ERROR_RESPONSES)

QueueState = Literal["idle", "queued", "running", "retrying", "failed"]


class BuildQueue(BaseModel):
    state: QueueState = Field(
        description="Its latest build: idle (ended), queued, running (a worker holds it), "
        "retrying (waiting for another attempt), failed"
    )
    attempts: int = Field(description="Times the latest build was claimed")
    lease_expiries: int = Field(description="Times a worker's lease on it ran out")
    stuck: bool = Field(description="Unfinished, with lease_expiries at the stuck threshold")
    error: str | None = Field(description="The last error of an unfinished or failed build")


class SegmentFreshness(BaseModel):
    segment_id: str
    exact_at: str | None = Field(
        description="When its membership was last made exact (a build's publish or a daily "
        "refresh), in the configured zone; real-time updates keep it exact in between"
    )
    exact_day: date | None = Field(description="The day its relative dates count from")
    time_dependent: bool = Field(description="Refreshed after each day boundary")
    refresh_overdue: bool = Field(description="Today's refresh has not happened in time")
    last_build_seconds: float | None = Field(
        description="From first claim to publish, of its last completed build"
    )
    queue: BuildQueue


class StuckJobOut(BaseModel):
    queue: Literal["build", "refresh"]
    job_id: int
    segment_id: str | None = Field(description="A build's segment")
    list_id: int | None = Field(description="A refresh's list")
    state: str
    attempts: int
    lease_expiries: int
    error: str | None


class OverdueRefresh(BaseModel):
    segment_id: str
    list_id: int
    exact_day: date | None


class Status(BaseModel):
    stuck_jobs: list[StuckJobOut]
    overdue_refreshes: list[OverdueRefresh]
    refresh_cutoff: date = Field(
        description="Time-dependent segments counting from an older day are overdue"
    )
    stuck_lease_expiries: int = Field(description="The stuck threshold (settings)")


def freshness_json(found: Freshness, settings: Settings) -> SegmentFreshness:
    build = found.build
    return SegmentFreshness(
        segment_id=found.segment_id,
        exact_at=format_time(found.exact_at, settings.tz),
        exact_day=found.exact_day,
        time_dependent=found.time_dependent,
        refresh_overdue=found.refresh_overdue,
        last_build_seconds=build.last_build_seconds,
        queue=BuildQueue(
            state=build.state,
            attempts=build.attempts,
            lease_expiries=build.lease_expiries,
            stuck=build.stuck,
            error=build.error,
        ),
    )


@router.get(
    "/segments/{segment_id}/freshness",
    summary="How current a segment's membership is",
    response_model=SegmentFreshness,
)
def segment_freshness(
    segment_id: str,
    tenant_id: int = Depends(current_tenant),
    db: Database = Depends(get_db),
    settings: Settings = Depends(get_settings),
) -> SegmentFreshness:
    found = freshness(db, tenant_id, [segment_id], settings).get(segment_id)
    if found is None:
        raise not_found()
    return freshness_json(found, settings)


@router.get("/status", summary="Stuck jobs and overdue refreshes", response_model=Status)
def status(
    tenant_id: int = Depends(current_tenant),
    db: Database = Depends(get_db),
    settings: Settings = Depends(get_settings),
) -> Status:
    health = tenant_health(db, tenant_id, settings)
    return Status(
        stuck_jobs=[
            StuckJobOut(
                queue=job.queue,
                job_id=job.job_id,
                segment_id=job.subject if job.queue == "build" else None,
                list_id=int(job.subject) if job.queue == "refresh" else None,
                state=job.state,
                attempts=job.attempts,
                lease_expiries=job.lease_expiries,
                error=job.error,
            )
            for job in health.stuck
        ],
        overdue_refreshes=[
            OverdueRefresh(segment_id=o.segment_id, list_id=o.list_id, exact_day=o.exact_day)
            for o in health.overdue
        ],
        refresh_cutoff=health.refresh_cutoff,
        stuck_lease_expiries=settings.stuck_lease_expiries,
    )
