"""A rebuild applied in place, whatever found its difference: a segment that has a published
membership is rebuilt by writing only the members who enter and leave it into the published
generation (rows, counts, ``member_total``, the history with the cause "build"), in one
transaction that holds the segment's row lock, ends the job and marks the segment complete
as a publish does. Readers see the whole rebuild move at its commit, as at a publish; real-time
updates of the segment, which take the same lock, come before it or after it.

Two sources find the difference: the system of record, by one query (``record_rebuild``), and
the analytics copy (``analytics_rebuild``). A difference naming more members than the
settings' ``rebuild_in_place_limit`` is rolled back, nothing written: the job then builds a
new generation range by range, as for a segment never built.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from .. import metrics
from ..domain.statuses import JobState, SegmentStatus
from ..membership import Rebuilt
from ..settings import Settings
from ..storage import change_log
from ..storage.change_log import last_change
from ..storage.db import Database
from ..storage.schema import segments
from ..storage.segments import Segment, get_segment
from ..timefmt import now
from .build_plan import Plan
from .build_queue import BUILDS, Claim, held, job_row
from .build_runner import follow_publish
from .build_steps import lock_and_extend
from .stale_generations import drop_stale_quietly


class TooLarge(Exception):
    """The difference names more members than the rebuild applies in place: nothing was
    written (raised inside the transaction, it rolls it back)."""


@dataclass(frozen=True)
class PublishedKey:
    """The segment's published generation (``GenerationKey``)."""

    tenant_id: int
    segment_id: str
    segment_number: int
    generation: int


# Finds and applies the difference to the published generation (its key and horizon), in the
# transaction given; raises ``TooLarge`` past the limit.
WriteDifference = Callable[[Connection, PublishedKey, int], Rebuilt]


@dataclass(frozen=True)
class Applied:
    """A committed rebuild in place: what moved, the segment as it left it, and the last
    history seq of the segment then."""

    rebuilt: Rebuilt
    segment: Segment | None
    history_seq: int


def rebuilds_in_place(db: Database, claim: Claim, max_members: int | None) -> bool:
    """Whether the job can rebuild in place: its segment has a published generation, the
    job has written no range of its own yet, and its list has at most ``max_members``
    members (None: any number)."""
    with db.read() as conn:
        s = segments.c
        generation = conn.execute(
            sa.select(s.generation).where(s.tenant_id == claim.tenant_id, s.id == claim.segment_id)
        ).scalar()
        job = job_row(conn, claim)
        small = max_members is None or int(job.total) <= max_members
        return bool(generation) and int(job.cursor) == 0 and small


def apply_in_place(
    db: Database,
    settings: Settings,
    claim: Claim,
    plan: Plan,
    difference: WriteDifference,
    job_values: Mapping[str, Any] | None = None,
) -> Applied | None:
    """End the job (recording ``job_values`` on it), apply ``difference`` to the published
    generation and mark the segment complete, in one transaction; None when the job is no
    longer ours (nothing written). ``TooLarge`` from ``difference`` rolls it all back."""
    with db.write() as conn:
        segment = lock_and_extend(conn, claim, settings.lease_seconds)
        if segment is None or not _end_job(conn, claim, job_values):
            return None
        key = PublishedKey(
            claim.tenant_id, claim.segment_id, claim.segment_number, int(segment.generation)
        )
        rebuilt = difference(conn, key, int(segment.horizon))
        _mark_complete(conn, claim, plan)
        started_at = job_row(conn, claim).started_at
        published = get_segment(conn, claim.tenant_id, claim.segment_id)
        # The history numbered now (the last step, as at the commit).
        change_log.flush(conn)
        history_seq = last_change(conn, claim.tenant_id, claim.segment_number)
    if started_at is not None:
        metrics.observe_build(time.time() - started_at)
    # A cleanup a crash cut short is finished here, as after a publish (usually nothing).
    drop_stale_quietly(db, claim.tenant_id, claim.segment_id, settings.build_chunk_size)
    return Applied(rebuilt, published, history_seq)


def _end_job(conn: Connection, claim: Claim, job_values: Mapping[str, Any] | None) -> bool:
    """End the job before anything is written (the transaction commits both or neither);
    False when the job is no longer ours."""
    if job_values:
        conn.execute(held(claim).values(**job_values))
    return BUILDS.finish(conn, claim.job_id, JobState.DONE, owner=claim.owner)


def _mark_complete(conn: Connection, claim: Claim, plan: Plan) -> None:
    """Mark the segment complete and exact, and queue the builds that follow, as a publish
    does (the generation stays)."""
    conn.execute(
        sa.update(segments)
        .where(segments.c.tenant_id == claim.tenant_id, segments.c.id == claim.segment_id)
        .values(
            status=SegmentStatus.COMPLETE,
            percent=100,
            error=None,
            built_at=now(),
            updated_at=now(),
        )
    )
    follow_publish(conn, claim, plan)
