"""How current each segment is and which jobs are in trouble, read from the job tables.

- A segment's **queue state** is its latest build's (superseded ones aside): ``queued``
  (never claimed yet), ``running`` (a worker holds a live lease), ``retrying`` (claimed
  before and waiting for another worker: an error, a lease that ran out, a hand-back),
  ``failed``, or ``idle`` (its last build ended).
- A job is **stuck** when its workers' leases ran out ``stuck_after`` times or more and it
  has not ended: something kills or stalls every worker that takes it.
- A time-dependent segment's refresh is **overdue** when its membership still counts from a
  day before ``cutoff`` (the caller's: today once the grace after the day boundary is over,
  yesterday before that).

Every function takes the caller's connection; ``tenant_id`` None reads every tenant (the
metrics), otherwise one.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from datetime import date
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from ..domain.statuses import JobState
from .schema import build_jobs, import_jobs, refresh_jobs, segments

QUEUE_TABLES: dict[str, sa.Table] = {
    "build": build_jobs,
    "refresh": refresh_jobs,
    "import": import_jobs,
}
UNFINISHED = (JobState.QUEUED, JobState.RUNNING)
QUEUE_STATES = ("queued", "running", "retrying")


@dataclass(frozen=True)
class BuildState:
    """A segment's latest build, and the duration of its last completed one."""

    state: str  # idle, queued, running, retrying, failed
    attempts: int
    lease_expiries: int
    stuck: bool
    error: str | None
    last_build_seconds: float | None


@dataclass(frozen=True)
class StuckJob:
    queue: str  # build, refresh
    job_id: int
    tenant_id: int
    subject: str  # the segment id of a build, the list id of a refresh
    state: str
    attempts: int
    lease_expiries: int
    error: str | None


@dataclass(frozen=True)
class OverdueSegment:
    tenant_id: int
    segment_id: str
    list_id: int
    exact_day: date | None


def queue_state(table: sa.Table, clock: float) -> sa.ColumnElement[str]:
    """``queued``, ``running`` or ``retrying`` for an unfinished job, else its own state."""
    c = table.c
    return sa.case(
        (sa.and_(c.state == JobState.QUEUED, c.attempts == 0), "queued"),
        (
            sa.and_(c.state == JobState.RUNNING, sa.func.coalesce(c.lease_expires_at, 0) >= clock),
            "running",
        ),
        (c.state.in_(UNFINISHED), "retrying"),
        else_=c.state,
    )


def build_states(
    conn: Connection, tenant_id: int, segment_ids: Collection[str], clock: float, stuck_after: int
) -> dict[str, BuildState]:
    """The build state of each of these segments that was ever built or queued."""
    if not segment_ids:
        return {}
    j = build_jobs.c
    mine = sa.and_(j.tenant_id == tenant_id, j.segment_id.in_(sorted(segment_ids)))
    latest = (
        sa.select(sa.func.max(j.id))
        .where(mine, j.state != JobState.SUPERSEDED)
        .group_by(j.segment_id)
    )
    last_done = (
        sa.select(sa.func.max(j.id))
        .where(mine, j.state == JobState.DONE, j.started_at.is_not(None))
        .group_by(j.segment_id)
    )
    rows = conn.execute(
        sa.select(
            j.id,
            j.segment_id,
            queue_state(build_jobs, clock).label("queue_state"),
            j.attempts,
            j.lease_expiries,
            j.error,
            j.started_at,
            j.finished_at,
        ).where(sa.or_(j.id.in_(latest), j.id.in_(last_done)))
    ).all()
    durations: dict[str, float] = {}
    states: dict[str, Any] = {}
    for row in rows:
        if row.started_at is not None and row.finished_at is not None:
            durations[row.segment_id] = max(0.0, row.finished_at - row.started_at)
        if row.segment_id not in states or row.id > states[row.segment_id].id:
            states[row.segment_id] = row
    return {
        segment_id: _build_state(row, stuck_after, durations.get(segment_id))
        for segment_id, row in states.items()
    }


def _build_state(row: Any, stuck_after: int, seconds: float | None) -> BuildState:
    state = "idle" if row.queue_state in (JobState.DONE,) else str(row.queue_state)
    unfinished = state in QUEUE_STATES
    return BuildState(
        state=state,
        attempts=int(row.attempts),
        lease_expiries=int(row.lease_expiries),
        stuck=unfinished and int(row.lease_expiries) >= stuck_after,
        error=row.error if state != "idle" else None,
        last_build_seconds=seconds,
    )


def stuck_jobs(conn: Connection, stuck_after: int, tenant_id: int | None = None) -> list[StuckJob]:
    """Unfinished builds and refreshes whose leases ran out ``stuck_after`` times or more."""
    found: list[StuckJob] = []
    for queue, table, subject in (
        ("build", build_jobs, build_jobs.c.segment_id),
        ("refresh", refresh_jobs, sa.cast(refresh_jobs.c.list_id, sa.String)),
    ):
        c = table.c
        columns = (c.id, c.tenant_id, subject.label("subject"), c.state, c.attempts)
        query = sa.select(*columns, c.lease_expiries, c.error).where(
            c.state.in_(UNFINISHED), c.lease_expiries >= stuck_after
        )
        if tenant_id is not None:
            query = query.where(c.tenant_id == tenant_id)
        for row in conn.execute(query.order_by(c.id)):
            found.append(
                StuckJob(
                    queue,
                    int(row.id),
                    int(row.tenant_id),
                    str(row.subject),
                    str(row.state),
                    int(row.attempts),
                    int(row.lease_expiries),
                    row.error,
                )
            )
    return found


def overdue_segments(
    conn: Connection, cutoff: date, tenant_id: int | None = None
) -> list[OverdueSegment]:
    """Time-dependent segments with a published membership counting from before ``cutoff``."""
    s = segments.c
    query = sa.select(s.tenant_id, s.id, s.list_id, s.exact_day).where(
        s.time_dependent,
        s.generation > 0,
        sa.or_(s.exact_day.is_(None), s.exact_day < cutoff),
    )
    if tenant_id is not None:
        query = query.where(s.tenant_id == tenant_id)
    return [
        OverdueSegment(int(row.tenant_id), row.id, int(row.list_id), row.exact_day)
        for row in conn.execute(query.order_by(s.tenant_id, s.id))
    ]


def queue_depths(conn: Connection, clock: float) -> dict[tuple[str, str], int]:
    """{(queue, state): jobs} over every tenant, for each queue and each of ``QUEUE_STATES``."""
    depths = {(queue, state): 0 for queue in QUEUE_TABLES for state in QUEUE_STATES}
    for queue, table in QUEUE_TABLES.items():
        state = queue_state(table, clock).label("queue_state")
        query = (
            sa.select(state, sa.func.count()).where(table.c.state.in_(UNFINISHED)).group_by(state)
        )
        for name, count in conn.execute(query):
            depths[(queue, str(name))] = int(count)
    return depths
