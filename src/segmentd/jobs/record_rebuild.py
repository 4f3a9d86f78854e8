"""A rebuild on the relational back-ends, applied in place: a segment that has a published
membership is rebuilt by one query on the system of record naming the members who must
enter or leave it (``MembershipStore.rebuild_candidates``), then writing only those into
the published generation, in the transaction that holds the segment's lock and ends the job
(``in_place_rebuild``).

The query runs on a read snapshot, before the write transaction: on SQLite the database's
one writer is held only for the writes, not for a walk of the whole list. The write
transaction re-checks every candidate on the system of record as it is then
(``MembershipStore.apply_difference``, each one unsure), and every other member is exact
already. At the snapshot, a member the query did not name was held exactly as the condition
answers it. A member changed after the snapshot was changed by a real-time update, which
read the segment's condition as this job's (the job was queued with it; a redefinition
since would have superseded the job and this transaction would write nothing): either its
answer could not differ and its row stayed right, or the update wrote the row its answer
wanted. Members removed by hand since leave the published membership at once; a segment the
condition refers to that moved a member moves it here too (real-time updates and removals
follow referrers), and one rebuilt or published since queues this segment again. So the
published generation holds what a full build would once the transaction commits.

A difference naming more than ``rebuild_in_place_limit`` members is not applied (nothing
written; the writer never taken): the job builds a new generation, range by range.
"""

from __future__ import annotations

import logging

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from ..membership import Rebuilt, store
from ..settings import Settings
from ..storage.db import Database
from ..storage.schema import segments
from .build_plan import Plan
from .build_queue import Claim
from .build_steps import Step
from .in_place_rebuild import NotInPlace, PublishedKey, apply_in_place

log = logging.getLogger("segmentd.jobs")


def rebuild_on_record(db: Database, settings: Settings, claim: Claim, plan: Plan) -> Step | None:
    """Find the members who may move on a snapshot, then apply the difference to the
    published generation and end the job, in one transaction. None when it named more than
    ``rebuild_in_place_limit`` members: nothing written, the caller builds by range."""
    with db.snapshot() as conn:
        read = _published(conn, claim)
        if read is None:
            return None
        key, horizon = read
        limit = settings.rebuild_in_place_limit
        candidates = store().rebuild_candidates(
            conn, key, plan.list_id, horizon, plan.condition, limit
        )
    if candidates is None:
        log.info("build job %s: the difference is too large to apply in place", claim.job_id)
        return None

    def difference(conn: Connection, published: PublishedKey, now: int) -> Rebuilt:
        if (published, now) != (key, horizon):
            raise NotInPlace  # published again since the snapshot (not by this job)
        named = ((), (), candidates)
        return store().apply_difference(conn, key, plan.list_id, horizon, plan.condition, named)

    try:
        applied = apply_in_place(db, settings, claim, plan, difference)
    except NotInPlace:
        return None
    if applied is None:
        return Step.LOST
    log.info(
        "build job %s: segment %s rebuilt in place: %s candidates, %s moved",
        claim.job_id,
        claim.segment_id,
        len(candidates),
        applied.rebuilt.moved,
    )
    return Step.DONE


def _published(conn: Connection, claim: Claim) -> tuple[PublishedKey, int] | None:
    """The segment's published generation and its horizon as ``conn`` reads them."""
    s = segments.c
    row = conn.execute(
        sa.select(s.generation, s.horizon).where(
            s.tenant_id == claim.tenant_id, s.id == claim.segment_id
        )
    ).first()
    if row is None or not row.generation:
        return None
    key = PublishedKey(claim.tenant_id, claim.segment_id, claim.segment_number, row.generation)
    return key, int(row.horizon)
