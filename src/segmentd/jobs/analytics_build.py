"""A full build answered on the analytics back-end: the members the condition holds for are
selected on ClickHouse (its copy brought up to date first), then written into the
generation range by range and published as any build (``build_runner``), so the membership
history records who entered and left. The job records how fresh the copy was
(``build_jobs.analytics_fresh_as_of``). A ClickHouse error (a shard down) fails the attempt:
the job is retried, and the published membership stays until a build publishes."""

from __future__ import annotations

import logging
from dataclasses import replace

from ..storage.db import Database
from .analytics_source import AnalyticsSource
from .build_plan import Plan
from .build_queue import Claim, held

log = logging.getLogger("segmentd.jobs")


def answered_on(source: AnalyticsSource, db: Database, claim: Claim, plan: Plan) -> Plan:
    selected = source.select(db, claim.tenant_id, plan.list_id, plan.condition)
    log.info(
        "build job %s: %s members selected on the analytics copy, fresh as of %s",
        claim.job_id,
        len(selected.ids),
        selected.fresh_as_of,
    )
    with db.write() as conn:  # recorded on the job (matches only while we hold it)
        conn.execute(held(claim).values(analytics_fresh_as_of=selected.fresh_as_of))
    return replace(plan, given=selected.ids)
