"""What a build works through: the list it scans, the parsed condition, the stored form, and
the member id ranges of its chunks."""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import date
from typing import cast

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Row

from .. import clock
from ..domain.condition_types.leaf_types import inputs
from ..domain.conditions import Condition
from ..domain.stored_form import load_condition
from ..membership import MemberAnswer, store
from ..settings import Settings
from ..storage.catalog import load_catalog
from ..storage.compiler import compile_condition
from ..storage.schema import members
from ..storage.segments import published_generations
from .build_queue import Claim

Ranges = list[tuple[int, int, int]]  # (lo, hi, member count) of consecutive chunks


@dataclass(frozen=True)
class Plan:
    """What every chunk of a job needs: the list to scan, the parsed condition, and whether
    the generation is stored as its complement (``storage.membership``). ``references``: the
    published generation of each segment the condition refers to, when the job was planned
    (one that publishes again before this job does leaves it behind: ``build_runner``)."""

    list_id: int
    condition: Condition
    complement: bool = False
    # The day relative dates count from (the tenant's zone), fixed by the job's first step.
    day: date = date(1970, 1, 1)
    references: tuple[tuple[str, int], ...] = ()
    # The analytics back-end, asked for each chunk's members the condition holds for (None:
    # the fill evaluates the condition on the system of record).
    answer: MemberAnswer | None = None


def plan_build(
    conn: Connection, settings: Settings, claim: Claim, segment: Row[tuple], job: Row[tuple]
) -> tuple[Plan, int]:
    """The plan of the job and its total of members to scan.

    Raises ``DomainValidationError`` when the condition no longer validates against today's
    catalog. The form (plain or complement) is chosen while nothing is kept yet (cursor 0).
    """
    day = build_day(settings, job)
    condition = parse_segment_condition(conn, settings, claim, segment, day)
    total = job.processed + _members_after(conn, claim, segment.list_id, job.cursor)
    refs = published_generations(conn, claim.tenant_id, inputs(condition).segments)
    references = tuple(sorted(refs.items()))
    plan = Plan(int(segment.list_id), condition, bool(job.complement), day, references)
    if job.cursor == 0:  # nothing is kept yet: the form may still be chosen
        plan = replace(plan, complement=_mostly_held(conn, claim, plan, settings))
    return plan, total


def build_day(settings: Settings, job: Row[tuple]) -> date:
    """The day the job counts relative dates from: today, until a chunk is kept; then the
    day that chunk was built for, so that every chunk answers for the same day."""
    if job.cursor > 0 and job.day is not None:
        return cast(date, job.day)
    return clock.today(settings.tz)


def _mostly_held(conn: Connection, claim: Claim, plan: Plan, settings: Settings) -> bool:
    """Whether the first chunk's members match more than ``build_complement_share`` of the
    time: then a complement stores fewer rows (a guess from one chunk; either form is exact)."""
    share = settings.build_complement_share
    if share >= 1:
        return False
    hi, count = next_range(conn, claim, plan, 0, settings.build_chunk_size)
    if count == 0:
        return False
    hits = sa.select(sa.func.count()).where(
        *in_list(claim, plan.list_id),
        members.c.id <= hi,
        compile_condition(
            plan.condition,
            (0, hi),
            claim.tenant_id,
            segments=store().published_sql(conn, claim.tenant_id),
        ),
    )
    return int(conn.execute(hits).scalar_one()) > share * count


def parse_segment_condition(
    conn: Connection, settings: Settings, claim: Claim, segment: Row[tuple], day: date
) -> Condition:
    catalog = load_catalog(conn, claim.tenant_id)
    return load_condition(segment.condition, catalog, settings.tz, today=day)


def in_list(claim: Claim, list_id: int) -> list[sa.ColumnElement[bool]]:
    return [members.c.tenant_id == claim.tenant_id, members.c.list_id == list_id]


def _members_after(conn: Connection, claim: Claim, list_id: int, cursor: int) -> int:
    count = sa.select(sa.func.count()).where(*in_list(claim, list_id), members.c.id > cursor)
    return int(conn.execute(count).scalar_one())


def next_ranges(
    conn: Connection, claim: Claim, plan: Plan, cursor: int, size: int, parts: int
) -> Ranges:
    """Up to ``parts`` consecutive chunks after ``cursor``: (lo, hi, member count) each."""
    ranges: Ranges = []
    lo = cursor
    while len(ranges) < parts:
        hi, count = next_range(conn, claim, plan, lo, size)
        if count:
            ranges.append((lo, hi, count))
        if count < size:
            break
        lo = hi
    return ranges


def next_range(
    conn: Connection, claim: Claim, plan: Plan, cursor: int, size: int
) -> tuple[int, int]:
    """The upper id bound and the member count of the next chunk after ``cursor``."""
    return range_after(conn, claim.tenant_id, plan.list_id, cursor, size)


def range_after(
    conn: Connection, tenant_id: int, list_id: int, cursor: int, size: int
) -> tuple[int, int]:
    """The upper id bound and the member count of the list's next ``size`` members after
    ``cursor`` (the chunks of a build or a refresh)."""
    m = members.c
    after = sa.select(m.id).where(m.tenant_id == tenant_id, m.list_id == list_id, m.id > cursor)
    # The size-th id: the index walked without keeping the ids it passes (a quarter of the
    # time on SQLite); only the list's last chunk, shorter, is counted.
    hi = conn.execute(after.order_by(m.id).limit(1).offset(size - 1)).scalar()
    if hi is not None:
        return int(hi), size
    ids = after.order_by(m.id).limit(size).subquery()
    hi, count = conn.execute(
        sa.select(sa.func.max(ids.c.id), sa.func.count()).select_from(ids)
    ).one()
    return int(hi or cursor), int(count)
