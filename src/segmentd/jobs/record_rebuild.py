"""A rebuild on the relational back-ends, applied in place: a segment that has a published
membership is rebuilt by one query on the system of record finding who enters and who leaves
it (``MembershipStore.rebuild_in_place``), then writing only those members into the
published generation, in the transaction that holds the segment's lock and ends the job
(``in_place_rebuild``).

Nothing can change under the query: the transaction holds the segment row's lock, which
real-time updates and removals of its members take before they write (on SQLite it is the
database's one writer). A difference larger than ``rebuild_in_place_limit`` is rolled back
and built as a new generation, range by range.
"""

from __future__ import annotations

import logging

from sqlalchemy.engine import Connection

from ..membership import Rebuilt, store
from ..settings import Settings
from ..storage.db import Database
from .build_plan import Plan
from .build_queue import Claim
from .build_steps import Step
from .in_place_rebuild import PublishedKey, TooLarge, apply_in_place

log = logging.getLogger("segmentd.jobs")


def rebuild_on_record(db: Database, settings: Settings, claim: Claim, plan: Plan) -> Step | None:
    """Find the difference, apply it to the published generation and end the job, in one
    transaction. None when it named more than ``rebuild_in_place_limit`` members: nothing
    written, the caller builds by range."""

    def difference(conn: Connection, key: PublishedKey, horizon: int) -> Rebuilt:
        limit = settings.rebuild_in_place_limit
        rebuilt = store().rebuild_in_place(conn, key, plan.list_id, horizon, plan.condition, limit)
        if rebuilt is None:
            raise TooLarge
        return rebuilt

    try:
        applied = apply_in_place(db, settings, claim, plan, difference)
    except TooLarge:
        log.info("build job %s: the difference is too large to apply in place", claim.job_id)
        return None
    if applied is None:
        return Step.LOST
    log.info(
        "build job %s: segment %s rebuilt in place: %s moved",
        claim.job_id,
        claim.segment_id,
        applied.rebuilt.moved,
    )
    return Step.DONE
