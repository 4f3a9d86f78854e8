"""How current a tenant's segments are: when each membership was last exact, its last build's
duration and queue state, which jobs are stuck and which daily refreshes are overdue.

The job tables say it (``storage.job_health``); this adds the day it is (``clock``) and the
thresholds of the settings. A refresh is overdue ``refresh_overdue_seconds`` after the day
boundary of ``SEGMENTD_TIME_ZONE`` while a time-dependent segment still counts from an older
day; before that grace, only a segment a whole day behind is.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from datetime import time as day_time

import sqlalchemy as sa

from .. import clock
from ..settings import Settings
from ..storage.db import Database
from ..storage.job_health import (
    BuildState,
    OverdueSegment,
    StuckJob,
    build_states,
    overdue_segments,
    stuck_jobs,
)
from ..storage.schema import segments


@dataclass(frozen=True)
class Freshness:
    segment_id: str
    exact_at: int | None  # epoch seconds: the last publish or refresh
    exact_day: date | None  # the day its relative dates count from
    time_dependent: bool
    refresh_overdue: bool
    build: BuildState  # its latest build ("idle" with no duration when never built)


@dataclass(frozen=True)
class Health:
    """A tenant's jobs in trouble (``GET /v1/status``)."""

    stuck: list[StuckJob]
    overdue: list[OverdueSegment]
    refresh_cutoff: date


NEVER_BUILT = BuildState("idle", 0, 0, False, None, None)


def refresh_cutoff(settings: Settings) -> date:
    """Segments counting from a day before this one are overdue."""
    tz = settings.tz
    today = clock.today(tz)
    day_start = datetime.combine(today, day_time.min, tz).timestamp()
    if clock.now() - day_start >= settings.refresh_overdue_seconds:
        return today
    return today - timedelta(days=1)


def freshness(
    db: Database, tenant_id: int, segment_ids: Sequence[str], settings: Settings
) -> dict[str, Freshness]:
    """The freshness of each of these segments of the tenant that exists."""
    if not segment_ids:
        return {}
    cutoff = refresh_cutoff(settings)
    s = segments.c
    with db.read() as conn:
        rows = conn.execute(
            sa.select(s.id, s.exact_at, s.exact_day, s.time_dependent, s.generation).where(
                s.tenant_id == tenant_id, s.id.in_(sorted(set(segment_ids)))
            )
        ).all()
        builds = build_states(
            conn, tenant_id, [r.id for r in rows], time.time(), settings.stuck_lease_expiries
        )
    return {
        row.id: Freshness(
            segment_id=row.id,
            exact_at=row.exact_at,
            exact_day=row.exact_day,
            time_dependent=bool(row.time_dependent),
            refresh_overdue=bool(
                row.time_dependent
                and row.generation > 0
                and (row.exact_day is None or row.exact_day < cutoff)
            ),
            build=builds.get(row.id, NEVER_BUILT),
        )
        for row in rows
    }


def tenant_health(db: Database, tenant_id: int, settings: Settings) -> Health:
    """The tenant's stuck jobs and overdue refreshes."""
    cutoff = refresh_cutoff(settings)
    with db.read() as conn:
        stuck = stuck_jobs(conn, settings.stuck_lease_expiries, tenant_id)
        overdue = overdue_segments(conn, cutoff, tenant_id)
    return Health(stuck, overdue, cutoff)
