"""Durable segment builds: a build is a ``build_jobs`` row, claimed with a lease, done in chunks.

Each step is one transaction and is safe to repeat. A chunk rewrites the members of one id range
(cursor, hi] for the job's generation, then moves the cursor: ``cursor`` always means "every
member with id <= cursor is done for this generation", which real-time updates rely on. The
last step publishes the generation in the same transaction that checks the lease, so readers
switch from the previous complete membership to the new one at once, and a job that was
superseded (a newer enqueue) can never publish.

Rows of other generations are invisible to readers, so they are deleted after the publish (or
failure) in chunked transactions of their own rather than inside it, which would hold SQLite's
write lock for the whole old membership. A cleanup cut short by a crash is finished by the next
build of the segment or by an idle worker's sweep (``claim_job`` when nothing is queued).

Lock order on PostgreSQL is segment row, then job row, everywhere (enqueue, chunks, publish),
so builds never deadlock with segment updates. Claiming locks only the job row.
"""

from __future__ import annotations

import logging
import threading
import time
import weakref
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from enum import Enum
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Row

from ..domain.conditions import Condition
from ..domain.errors import DomainValidationError
from ..domain.statuses import JobState, SegmentStatus
from ..domain.stored_form import load_condition
from ..settings import Settings
from ..storage import buckets
from ..storage.catalog import catalog_changed, load_catalog
from ..storage.compiler import compile_condition
from ..storage.db import Database
from ..storage.membership import build_horizon
from ..storage.schema import (
    build_jobs,
    members,
    segment_buckets,
    segment_exclusions,
    segment_members,
    segments,
)
from ..storage.write_lock import lock_tenant_writes
from ..timefmt import now

log = logging.getLogger("segmentd.jobs")

# A job claimed this many times without finishing fails rather than looping forever.
MAX_ATTEMPTS = 5
# Stale membership rows deleted per transaction, and how often an idle worker looks for them.
STALE_CHUNK = 20_000
SWEEP_SECONDS = 60.0
NO_GENERATION = 2**62  # above any generation: the bound when no build is live


class Step(Enum):
    """What one step of a build left behind."""

    PROGRESS = "progress"  # a chunk was committed; more remain
    DONE = "done"  # the generation is published
    FAILED = "failed"  # the job and its segment failed; the old membership stays
    LOST = "lost"  # the lease is no longer ours (superseded, reclaimed or segment deleted)


@dataclass(frozen=True)
class Claim:
    """A job this worker holds the lease on."""

    job_id: int
    tenant_id: int
    segment_id: str
    segment_number: int  # the segment's key in the membership tables
    generation: int
    owner: str
    attempt: int


@dataclass(frozen=True)
class Plan:
    """What every chunk of a job needs: the list to scan, the parsed condition, and whether
    the generation is stored as its complement (``storage.membership``)."""

    list_id: int
    condition: Condition
    complement: bool = False


# ---------------------------------------------------------------------------------------------
# Enqueue and claim


def enqueue_build(conn: Connection, tenant_id: int, segment_id: str) -> None:
    """Queue a fresh build of a segment, superseding any build of it still queued or running.

    Call inside the write transaction that created the segment or changed its condition.
    """
    lock_tenant_writes(conn, tenant_id)
    catalog_changed(conn, tenant_id)  # real-time updates see the segment building afresh
    marked = conn.execute(
        sa.update(segments)
        .where(segments.c.tenant_id == tenant_id, segments.c.id == segment_id)
        .values(status=SegmentStatus.BUILDING, percent=0, error=None, updated_at=now())
    )
    if marked.rowcount == 0:
        raise LookupError(f"segment {segment_id} of tenant {tenant_id} does not exist")
    jobs = build_jobs.c
    conn.execute(
        sa.update(build_jobs)
        .where(
            jobs.tenant_id == tenant_id,
            jobs.segment_id == segment_id,
            jobs.state.in_([JobState.QUEUED, JobState.RUNNING]),
        )
        .values(state=JobState.SUPERSEDED, lease_expires_at=None, updated_at=now())
    )
    conn.execute(
        sa.insert(build_jobs).values(
            tenant_id=tenant_id,
            segment_id=segment_id,
            generation=_next_generation(conn, tenant_id, segment_id),
            state=JobState.QUEUED,
            created_at=now(),
            updated_at=now(),
        )
    )


def _next_generation(conn: Connection, tenant_id: int, segment_id: str) -> int:
    """One above every generation the segment ever published or any job of it ever used."""
    published = conn.execute(
        sa.select(segments.c.generation).where(
            segments.c.tenant_id == tenant_id, segments.c.id == segment_id
        )
    ).scalar_one()
    used = conn.execute(
        sa.select(sa.func.max(build_jobs.c.generation)).where(
            build_jobs.c.tenant_id == tenant_id, build_jobs.c.segment_id == segment_id
        )
    ).scalar_one()
    return max(int(published), int(used or 0)) + 1


def claim_job(db: Database, owner: str, lease_seconds: float) -> Claim | None:
    """Take the oldest queued job, or a running one whose worker's lease ran out.

    With nothing to claim the worker is idle: it then finishes any cleanup of stale
    generations that a crash cut short (at most every ``SWEEP_SECONDS`` per database).
    """
    claims = claim_jobs(db, owner, lease_seconds, 1)
    return claims[0] if claims else None


def claim_jobs(db: Database, owner: str, lease_seconds: float, limit: int) -> list[Claim]:
    """``claim_job``, and with a fresh job up to ``limit - 1`` more fresh queued jobs of the
    same list, so that one pass over its members builds them all (``run_chunks``)."""
    with db.write() as conn:
        lease_end = time.time() + lease_seconds
        claimed = _claim(conn, owner, lease_end)
        if claimed is not None:
            claim, cursor = claimed
            fresh = _companions(conn, claim, limit - 1, lease_end) if cursor == 0 else []
            return [claim, *fresh]
    if _sweep_due(db):
        sweep_stale_generations(db)
    return []


def _claim(conn: Connection, owner: str, lease_end: float) -> tuple[Claim, int] | None:
    """The oldest claimable job, now ours until ``lease_end``, and its cursor."""
    jobs = build_jobs.c
    claimable = sa.or_(
        jobs.state == JobState.QUEUED,
        sa.and_(jobs.state == JobState.RUNNING, jobs.lease_expires_at < time.time()),
    )
    # SKIP LOCKED lets PostgreSQL workers claim side by side; SQLite has one writer anyway.
    row = conn.execute(
        sa.select(build_jobs, _segment_number())
        .where(claimable)
        .order_by(jobs.id)
        .limit(1)
        .with_for_update(of=build_jobs, skip_locked=True)
    ).first()
    if row is None:
        return None
    return _take(conn, row, owner, lease_end), int(row.cursor)


def _companions(conn: Connection, first: Claim, limit: int, lease_end: float) -> list[Claim]:
    """Up to ``limit`` fresh queued jobs (cursor 0) of the list of ``first``'s segment."""
    if limit <= 0:
        return []
    jobs, s = build_jobs.c, segments.c
    same_list = (
        sa.select(s.list_id)
        .where(s.tenant_id == first.tenant_id, s.id == first.segment_id)
        .scalar_subquery()
    )
    rows = conn.execute(
        sa.select(build_jobs, s.number.label("segment_number"))
        .join_from(
            build_jobs, segments, sa.and_(s.tenant_id == jobs.tenant_id, s.id == jobs.segment_id)
        )
        .where(
            jobs.state == JobState.QUEUED,
            jobs.tenant_id == first.tenant_id,
            jobs.cursor == 0,
            s.list_id == same_list,
            jobs.id != first.job_id,
        )
        .order_by(jobs.id)
        .limit(limit)
        .with_for_update(of=build_jobs, skip_locked=True)
    ).all()
    return [_take(conn, row, first.owner, lease_end) for row in rows]


def _segment_number() -> sa.Label[Any]:
    """The number of the job's segment; NULL (0 in the claim) once the segment is deleted."""
    s = segments.c
    number = sa.select(s.number).where(
        s.tenant_id == build_jobs.c.tenant_id, s.id == build_jobs.c.segment_id
    )
    return number.scalar_subquery().label("segment_number")


def _take(conn: Connection, row: Row[tuple], owner: str, lease_end: float) -> Claim:
    conn.execute(
        sa.update(build_jobs)
        .where(build_jobs.c.id == row.id)
        .values(
            state=JobState.RUNNING,
            lease_owner=owner,
            lease_expires_at=lease_end,
            attempts=row.attempts + 1,
            updated_at=now(),
        )
    )
    number = int(row.segment_number or 0)
    attempt = row.attempts + 1
    return Claim(row.id, row.tenant_id, row.segment_id, number, row.generation, owner, attempt)


def release(db: Database, claim: Claim) -> None:
    """Hand a job back untouched by this attempt (graceful stop): it resumes from its cursor."""
    with db.write() as conn:
        conn.execute(
            _ours(claim).values(
                state=JobState.QUEUED,
                lease_owner=None,
                lease_expires_at=None,
                attempts=build_jobs.c.attempts - 1,
                updated_at=now(),
            )
        )


def abandon(db: Database, claim: Claim, error: str) -> None:
    """Give up this attempt after an unexpected error: any worker may retry at once."""
    with db.write() as conn:
        conn.execute(_ours(claim).values(lease_expires_at=0, error=error, updated_at=now()))


# ---------------------------------------------------------------------------------------------
# The build steps, one transaction each


def prepare(db: Database, settings: Settings, claim: Claim) -> Plan | Step:
    """Parse the segment's condition against today's catalog and count the work left."""
    plan = _prepare(db, settings, claim)
    if plan is Step.FAILED:
        _drop_stale_quietly(db, claim, settings.build_chunk_size)
    return plan


def _prepare(db: Database, settings: Settings, claim: Claim) -> Plan | Step:
    with db.write() as conn:
        segment = _lock_and_extend(conn, claim, settings.lease_seconds)
        if segment is None:
            return Step.LOST
        if claim.attempt > MAX_ATTEMPTS:
            last_error = _job(conn, claim).error or "no error recorded"
            _fail(conn, claim, f"build failed after {MAX_ATTEMPTS} attempts: {last_error}")
            return Step.FAILED
        try:
            condition = _parse(conn, settings, claim, segment)
        except DomainValidationError as exc:
            _fail(conn, claim, f"the condition no longer validates: {exc}")
            return Step.FAILED
        job = _job(conn, claim)
        total = job.processed + _members_after(conn, claim, segment.list_id, job.cursor)
        plan = Plan(int(segment.list_id), condition, bool(job.complement))
        if job.cursor == 0:  # nothing is kept yet: the form may still be chosen
            plan = Plan(plan.list_id, condition, _mostly_held(conn, claim, plan, settings))
        conn.execute(_ours(claim).values(total=total, complement=plan.complement))
    return plan


def _mostly_held(conn: Connection, claim: Claim, plan: Plan, settings: Settings) -> bool:
    """Whether the first chunk's members match more than ``build_complement_share`` of the
    time: then a complement stores fewer rows (a guess from one chunk; either form is exact)."""
    share = settings.build_complement_share
    if share >= 1:
        return False
    hi, count = _next_range(conn, claim, plan, 0, settings.build_chunk_size)
    if count == 0:
        return False
    hits = sa.select(sa.func.count()).where(
        *_in_list(claim, plan.list_id),
        members.c.id <= hi,
        compile_condition(plan.condition, (0, hi)),
    )
    return int(conn.execute(hits).scalar_one()) > share * count


def run_chunk(db: Database, settings: Settings, claim: Claim, plan: Plan) -> Step:
    """Build the next id range of members and save progress; publish when none are left.

    After publishing, the previous generation's rows are deleted before this returns.
    """
    return run_chunks(db, settings, [(claim, plan)])[0]


def run_chunks(db: Database, settings: Settings, work: list[tuple[Claim, Plan]]) -> list[Step]:
    """``run_chunk`` for several jobs in one transaction: jobs of one list at the same cursor
    share the look-up of the range (issue #5: builds of many segments share one pass)."""
    steps = _run_chunks(db, settings, work)
    for (claim, _plan), step in zip(work, steps, strict=True):
        if step is Step.DONE:
            _drop_stale_quietly(db, claim, settings.build_chunk_size)
    return steps


Ranges = list[tuple[int, int, int]]  # (lo, hi, member count) of consecutive chunks


def _run_chunks(db: Database, settings: Settings, work: list[tuple[Claim, Plan]]) -> list[Step]:
    size = settings.build_chunk_size
    parts = 1 if db.is_sqlite else settings.build_parallelism
    steps = [Step.LOST] * len(work)
    with db.write() as conn:
        # Segment rows in ascending id, as real-time updates lock them: no deadlock.
        order = sorted(range(len(work)), key=lambda i: work[i][0].segment_id)
        live = [i for i in order if _lock_and_extend(conn, work[i][0], settings.lease_seconds)]
        shared: dict[tuple[int, int, int], Ranges] = {}
        planned: dict[int, tuple[Row[tuple], Ranges]] = {}
        for i in live:
            claim, plan = work[i]
            job = _job(conn, claim)
            key = (claim.tenant_id, plan.list_id, int(job.cursor))
            if key not in shared:
                shared[key] = _next_ranges(conn, claim, plan, job.cursor, size, parts)
            planned[i] = (job, shared[key])
        # Removals take the segment row lock too, so no exclusion appears until this commits.
        excluding = {i: _has_exclusions(conn, work[i][0]) for i in live}
        fills = [(*work[i], lo, hi, excluding[i]) for i in live for lo, hi, _count in planned[i][1]]
        inside_counted = _fill_all(db, conn, fills, settings.build_parallelism)
        for i in live:
            claim, plan = work[i]
            job, ranges = planned[i]
            steps[i] = _advance(conn, claim, plan, job, ranges, size * parts, inside_counted)
    return steps


def _advance(
    conn: Connection,
    claim: Claim,
    plan: Plan,
    job: Row[tuple],
    ranges: Ranges,
    full: int,
    inside_counted: bool,
) -> Step:
    """Count the filled ranges' buckets, move the cursor, and publish after the last range.

    ``inside_counted``: the fills counted the buckets wholly inside their ranges; only the ones at
    the ends of each range are left.
    """
    count = sum(part_count for _lo, _hi, part_count in ranges)
    cursor = int(job.cursor)
    if count:
        lo, cursor = ranges[0][0], ranges[-1][1]
        mine = (claim.tenant_id, claim.segment_number, claim.generation)
        complement = _complement(plan, cursor)
        if inside_counted:
            ends = {buckets.bucket_of(end) for r_lo, r_hi, _ in ranges for end in (r_lo + 1, r_hi)}
            for bucket in sorted(ends):
                buckets.recount_buckets(conn, *mine, bucket, bucket, complement)
        else:
            buckets.recount(conn, *mine, lo, cursor, complement)
        processed = job.processed + count
        conn.execute(_ours(claim).values(cursor=cursor, processed=processed))
        _set_percent(conn, claim, _percent(processed, max(job.total, processed)))
    if count == full:
        return Step.PROGRESS
    # Fewer than full chunks: no member is left past the cursor as of this transaction.
    _publish(conn, claim, build_horizon(plan.complement, cursor))
    return Step.DONE


def _complement(plan: Plan, cursor: int) -> buckets.Complement | None:
    """How to count the job's members once its cursor is at ``cursor`` (None: its rows)."""
    return buckets.Complement(plan.list_id, cursor) if plan.complement else None


def _lock_and_extend(conn: Connection, claim: Claim, lease_seconds: float) -> Row[tuple] | None:
    """Lock the segment row, then renew the lease. None when the job is no longer ours."""
    segment = conn.execute(
        sa.select(segments)
        .where(segments.c.tenant_id == claim.tenant_id, segments.c.id == claim.segment_id)
        .with_for_update()
    ).first()
    renewed = conn.execute(
        _ours(claim).values(lease_expires_at=time.time() + lease_seconds, updated_at=now())
    )
    if renewed.rowcount == 0:
        return None
    if segment is None:
        _retire_deleted(conn, claim)
        return None
    return segment


def _ours(claim: Claim) -> sa.Update:
    """An UPDATE of the claimed job that matches only while this worker holds it."""
    jobs = build_jobs.c
    return sa.update(build_jobs).where(
        jobs.id == claim.job_id,
        jobs.lease_owner == claim.owner,
        jobs.state == JobState.RUNNING,
    )


def _job(conn: Connection, claim: Claim) -> Row[tuple]:
    return conn.execute(sa.select(build_jobs).where(build_jobs.c.id == claim.job_id)).one()


def _parse(conn: Connection, settings: Settings, claim: Claim, segment: Row[tuple]) -> Condition:
    catalog = load_catalog(conn, claim.tenant_id)
    return load_condition(segment.condition, catalog, settings.tz)


def _in_list(claim: Claim, list_id: int) -> list[sa.ColumnElement[bool]]:
    return [members.c.tenant_id == claim.tenant_id, members.c.list_id == list_id]


def _members_after(conn: Connection, claim: Claim, list_id: int, cursor: int) -> int:
    count = sa.select(sa.func.count()).where(*_in_list(claim, list_id), members.c.id > cursor)
    return int(conn.execute(count).scalar_one())


def _next_ranges(
    conn: Connection, claim: Claim, plan: Plan, cursor: int, size: int, parts: int
) -> list[tuple[int, int, int]]:
    """Up to ``parts`` consecutive chunks after ``cursor``: (lo, hi, member count) each."""
    ranges: list[tuple[int, int, int]] = []
    lo = cursor
    while len(ranges) < parts:
        hi, count = _next_range(conn, claim, plan, lo, size)
        if count:
            ranges.append((lo, hi, count))
        if count < size:
            break
        lo = hi
    return ranges


def _next_range(
    conn: Connection, claim: Claim, plan: Plan, cursor: int, size: int
) -> tuple[int, int]:
    """The upper id bound and the member count of the next chunk after ``cursor``."""
    ids = (
        sa.select(members.c.id)
        .where(*_in_list(claim, plan.list_id), members.c.id > cursor)
        .order_by(members.c.id)
        .limit(size)
        .subquery()
    )
    hi, count = conn.execute(
        sa.select(sa.func.max(ids.c.id), sa.func.count()).select_from(ids)
    ).one()
    return int(hi or cursor), int(count)


def _fill_all(
    db: Database, conn: Connection, fills: list[tuple[Claim, Plan, int, int, bool]], workers: int
) -> bool:
    """Fill every (job, range): in ``conn``, or on PostgreSQL side by side, one connection each.

    Performance (issue #5): a build's cost is inserting its rows, one core's work per
    statement; two cores fill two chunks at once. ``conn`` keeps the segment rows locked
    meanwhile, so real-time updates wait as they would for one chunk, and it moves the cursors
    only after every fill has committed. A fill whose range the cursor never reaches (a crash,
    a lost lease) left rows past the cursor: the next fill of that range replaces them, and a
    generation that never publishes is deleted whole. True on PostgreSQL: each fill counted
    the buckets wholly inside its range from the rows it inserted, and ``_advance`` counts
    the buckets neighbouring ranges share.
    """
    if db.is_sqlite:
        for fill in fills:
            _fill_range(conn, *fill)
        return False
    if workers == 1 or len(fills) == 1:
        for fill in fills:
            _fill_counted(conn, *fill)
        return True
    for future in [_fillers(workers).submit(_fill_alone, db, *fill) for fill in fills]:
        future.result()
    return True


_filler_pools: dict[int, ThreadPoolExecutor] = {}
_filler_lock = threading.Lock()


def _fillers(workers: int) -> ThreadPoolExecutor:
    with _filler_lock:
        if workers not in _filler_pools:
            _filler_pools[workers] = ThreadPoolExecutor(
                workers, thread_name_prefix="segmentd-build-fill"
            )
        return _filler_pools[workers]


def _fill_alone(db: Database, claim: Claim, plan: Plan, lo: int, hi: int, excluding: bool) -> None:
    """Fill a range in a transaction of its own, with the buckets that lie wholly inside it
    (no other fill touches those; ``_advance`` recounts the ones it shares)."""
    with db.write() as conn:
        # Its commit need not wait for the disk: the cursor moves in a later transaction,
        # whose commit flushes the log up to and past this one.
        conn.exec_driver_sql("SET LOCAL synchronous_commit = off")
        _fill_counted(conn, claim, plan, lo, hi, excluding)


def _fill_counted(
    conn: Connection, claim: Claim, plan: Plan, lo: int, hi: int, excluding: bool
) -> None:
    """PostgreSQL: ``_fill_range`` and the counts of the buckets wholly inside the range."""
    insert = _prepare_fill(conn, claim, plan, lo, hi, excluding)
    first, last = buckets.inner_buckets(lo, hi)
    mine = (claim.tenant_id, claim.segment_number, claim.generation)
    buckets.insert_counted(conn, insert, *mine, first, last, _complement(plan, hi))


def _has_exclusions(conn: Connection, claim: Claim) -> bool:
    ex = segment_exclusions.c
    found = conn.execute(
        sa.select(ex.member_id)
        .where(ex.tenant_id == claim.tenant_id, ex.segment_id == claim.segment_id)
        .limit(1)
    ).first()
    return found is not None


def _fill_range(
    conn: Connection, claim: Claim, plan: Plan, lo: int, hi: int, excluding: bool = True
) -> None:
    """Replace this generation's rows in (lo, hi]: running it twice gives the same rows.

    ``excluding``: the segment has members removed by hand, to leave out (a test per row).
    """
    conn.execute(_prepare_fill(conn, claim, plan, lo, hi, excluding))


def _prepare_fill(
    conn: Connection, claim: Claim, plan: Plan, lo: int, hi: int, excluding: bool
) -> sa.Insert:
    """Delete this generation's rows in (lo, hi]; return the insert of the members that match
    now, or for a complement of those that do not (the caller runs it, alone or with the
    counts it returns)."""
    sm = segment_members.c
    conn.execute(
        sa.delete(segment_members).where(
            *_generation_rows(claim, claim.generation), sm.member_id > lo, sm.member_id <= hi
        )
    )
    excluded = sa.exists().where(
        segment_exclusions.c.tenant_id == members.c.tenant_id,
        segment_exclusions.c.segment_id == claim.segment_id,
        segment_exclusions.c.member_id == members.c.id,
    )
    condition = compile_condition(plan.condition, (lo, hi))
    if plan.complement:
        # NULL is "no match" to WHERE but would stay NULL under NOT. Not coalesce(): SQLite
        # then tested every part of an "or" (3 times the time of this CASE).
        unmatched = sa.case((condition, sa.false()), else_=sa.true())
        stored = sa.or_(unmatched, excluded) if excluding else unmatched
    else:
        stored = sa.and_(condition, ~excluded if excluding else sa.true())
    matching = sa.select(
        members.c.tenant_id,
        sa.literal(claim.segment_number, sa.BigInteger),
        sa.literal(claim.generation, sa.BigInteger),
        members.c.id,
    ).where(*_in_list(claim, plan.list_id), members.c.id > lo, members.c.id <= hi, stored)
    columns = ["tenant_id", "segment_number", "generation", "member_id"]
    return sa.insert(segment_members).from_select(columns, matching)


def _generation_rows(claim: Claim, generation: int) -> list[sa.ColumnElement[bool]]:
    sm = segment_members.c
    return [
        sm.tenant_id == claim.tenant_id,
        sm.segment_number == claim.segment_number,
        sm.generation == generation,
    ]


def _percent(processed: int, total: int) -> int:
    # 100 means published, so a build in progress shows at most 99.
    return min(99, processed * 100 // total) if total else 0


def _set_percent(conn: Connection, claim: Claim, percent: int) -> None:
    conn.execute(
        sa.update(segments)
        .where(segments.c.tenant_id == claim.tenant_id, segments.c.id == claim.segment_id)
        .values(percent=percent)
    )


def _publish(conn: Connection, claim: Claim, horizon: int) -> None:
    """Swap the new generation in (the caller holds the lease); the old one is now stale.
    ``horizon``: the generation is a complement up to it (0: plain)."""
    total = buckets.total(conn, claim.tenant_id, claim.segment_number, claim.generation)
    conn.execute(_ours(claim).values(state=JobState.DONE, lease_expires_at=None, error=None))
    conn.execute(
        sa.update(segments)
        .where(segments.c.tenant_id == claim.tenant_id, segments.c.id == claim.segment_id)
        .values(
            generation=claim.generation,
            horizon=horizon,
            member_total=total,
            status=SegmentStatus.COMPLETE,
            percent=100,
            error=None,
            built_at=now(),
            updated_at=now(),
        )
    )
    log.info(
        "segment %s generation %s published with %s members (job %s)",
        claim.segment_id,
        claim.generation,
        total,
        claim.job_id,
    )


def _fail(conn: Connection, claim: Claim, error: str) -> None:
    """Fail the job and mark the segment failed; its published membership stays readable."""
    conn.execute(_ours(claim).values(state=JobState.FAILED, lease_expires_at=None, error=error))
    conn.execute(
        sa.update(segments)
        .where(segments.c.tenant_id == claim.tenant_id, segments.c.id == claim.segment_id)
        .values(status=SegmentStatus.FAILED, error=error, updated_at=now())
    )
    log.warning("build job %s of segment %s failed: %s", claim.job_id, claim.segment_id, error)


def _retire_deleted(conn: Connection, claim: Claim) -> None:
    """The segment is gone: the job can never publish, and its rows must not linger."""
    conn.execute(
        _ours(claim).values(
            state=JobState.SUPERSEDED, lease_expires_at=None, error="segment deleted"
        )
    )
    conn.execute(sa.delete(segment_members).where(*_generation_rows(claim, claim.generation)))
    buckets.drop(conn, claim.tenant_id, claim.segment_number, claim.generation)


# ---------------------------------------------------------------------------------------------
# Stale generations: every generation of a segment but the published one and those of its
# queued or running build. Generation numbers only grow and a build is enqueued with one above
# every number used, so a stale generation never becomes live again, and no writer adds rows
# to one: deleting them needs no lock, only short transactions.


def drop_stale_generations(
    db: Database, tenant_id: int, segment_id: str, chunk: int = STALE_CHUNK
) -> int:
    """Delete a segment's stale rows, ``chunk`` rows per transaction; return how many."""
    deleted = 0
    while True:
        with db.write() as conn:
            count = _drop_stale_chunk(conn, tenant_id, segment_id, chunk)
        if count == 0:
            return deleted
        deleted += count


def sweep_stale_generations(db: Database, chunk: int = STALE_CHUNK) -> int:
    """Finish every interrupted cleanup, across tenants; return the rows deleted."""
    with db.read() as conn:
        found = conn.execute(
            sa.select(segments.c.tenant_id, segments.c.id).where(_has_stale_rows())
        ).all()
    return sum(drop_stale_generations(db, row.tenant_id, row.id, chunk) for row in found)


_last_sweep: weakref.WeakKeyDictionary[Database, float] = weakref.WeakKeyDictionary()


def _sweep_due(db: Database) -> bool:
    clock = time.monotonic()
    if clock - _last_sweep.get(db, -SWEEP_SECONDS) < SWEEP_SECONDS:
        return False
    _last_sweep[db] = clock
    return True


def _drop_stale_quietly(db: Database, claim: Claim, chunk: int) -> None:
    # The publish (or failure) is committed already; if this fails, an idle sweep finishes it.
    try:
        drop_stale_generations(db, claim.tenant_id, claim.segment_id, chunk)
    except Exception:
        log.exception("segment %s: stale generations left for the sweep", claim.segment_id)


def _live_floor(tenant_id: Any, segment_id: Any) -> sa.ScalarSelect[Any]:
    """The generation of the segment's queued or running build (NULL when there is none)."""
    jobs = build_jobs.c
    return (
        sa.select(sa.func.min(jobs.generation))
        .where(
            jobs.tenant_id == tenant_id,
            jobs.segment_id == segment_id,
            jobs.state.in_([JobState.QUEUED, JobState.RUNNING]),
        )
        .correlate_except(build_jobs)  # to the segment row, in the sweep two levels up
        .scalar_subquery()
    )


def _stale_ranges(
    segment: Any, table: sa.Table = segment_members
) -> list[list[sa.ColumnElement[bool]]]:
    """Two generation ranges of ``segment`` (its row, or the columns of ``segments``), each a
    seek on the primary key: below the published one, and between it and the live build
    (every older build was superseded, failed or published)."""
    sm = table.c
    tenant_id, segment_id, published = segment.tenant_id, segment.id, segment.generation
    mine = [sm.tenant_id == tenant_id, sm.segment_number == segment.number]
    live = sa.func.coalesce(_live_floor(tenant_id, segment_id), NO_GENERATION)
    return [
        [*mine, sm.generation < published],
        [*mine, sm.generation > published, sm.generation < live],
    ]


def _has_stale_rows() -> sa.ColumnElement[bool]:
    ranges = [
        where
        for table in (segment_members, segment_buckets)
        for where in _stale_ranges(segments.c, table)
    ]
    return sa.or_(*(sa.exists().where(*where) for where in ranges))


def _drop_stale_chunk(conn: Connection, tenant_id: int, segment_id: str, chunk: int) -> int:
    """Delete up to ``chunk`` rows of one stale generation of the segment.

    A deleted segment took its rows along (``storage.segments.delete_segment``): none to find.
    """
    segment = conn.execute(
        sa.select(
            segments.c.tenant_id, segments.c.id, segments.c.number, segments.c.generation
        ).where(segments.c.tenant_id == tenant_id, segments.c.id == segment_id)
    ).first()
    if segment is None:
        return 0
    sm, number = segment_members.c, segment.number
    for where in _stale_ranges(segment):
        generation = conn.execute(
            sa.select(sm.generation).where(*where).order_by(sm.generation).limit(1)
        ).scalar()
        if generation is None:
            continue
        rows = [sm.tenant_id == tenant_id, sm.segment_number == number, sm.generation == generation]
        last = conn.execute(
            sa.select(sm.member_id).where(*rows).order_by(sm.member_id).offset(chunk - 1).limit(1)
        ).scalar()
        if last is not None:
            rows.append(sm.member_id <= last)
        # The counts of a stale generation are never read: they go with its first chunk.
        buckets.drop(conn, tenant_id, number, generation)
        return int(conn.execute(sa.delete(segment_members).where(*rows)).rowcount)
    # No stale rows are left; counts can outlive their rows (a generation emptied by
    # real-time removals), so sweep the stale counts too.
    for where in _stale_ranges(segment, table=segment_buckets):
        conn.execute(sa.delete(segment_buckets).where(*where))
    return 0
