"""A full build answered on the analytics back-end: the copy is brought up to date once, then
each chunk's members the condition holds for are selected on ClickHouse as the chunk is
filled (only its member range: the worker holds one chunk's ids), and the generation is
published as any build (``build_runner``), so the membership history records who entered
and left. The job records how fresh the copy was
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
    streamed = source.stream(db, claim.tenant_id, plan.list_id, plan.condition)
    log.info(
        "build job %s: answered chunk by chunk on the analytics copy, fresh as of %s",
        claim.job_id,
        streamed.fresh_as_of,
    )
    with db.write() as conn:  # recorded on the job (matches only while we hold it)
        conn.execute(held(claim).values(analytics_fresh_as_of=streamed.fresh_as_of))
    return replace(plan, answer=streamed)
