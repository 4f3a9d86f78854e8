"""Filling a generation: the rows of one range of member ids, and their bucket counts.

A fill replaces the generation's rows in (lo, hi] by the list's members that match the
condition now (or, for a complement, those that do not): running it twice gives the same
rows. The build job decides the ranges, holds the locks and moves its cursor; this module
writes the rows and keeps the bucket counts (``membership.buckets``) exact for them.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from ..storage.db import Database
from ..storage.schema import segment_exclusions
from . import buckets
from .fill_beside import fill_beside
from .fill_template import fill_template, range_params, templated
from .interface import FillPlan, FillRange, GenerationKey, Ranges, answer_of
from .range_rows import clear_range, generation_insert, given_rows, stored_rows
from .references import PublishedReader


def fill_ranges(
    db: Database,
    conn: Connection,
    fills: Sequence[FillRange],
    workers: int,
    ahead: Sequence[FillRange] = (),
) -> bool:
    """Fill every (job, range): in ``conn``, or on PostgreSQL side by side, one connection each.
    ``ahead``: the ranges of the job's next step, which SQLite evaluates meanwhile.

    A build's cost is inserting its rows, one core's work per
    statement; two cores fill two chunks at once. ``conn`` keeps the segment rows locked
    meanwhile, so real-time updates wait as they would for one chunk, and it moves the cursors
    only after every fill has committed. A fill whose range the cursor never reaches (a crash,
    a lost lease) left rows past the cursor: the next fill of that range replaces them, and a
    generation that never publishes is deleted whole. True on PostgreSQL: each fill counted
    the buckets wholly inside its range from the rows it inserted, and ``count_filled`` counts
    the buckets neighbouring ranges share.
    """
    if any(answer_of(plan) is not None for _key, plan, *_rest in fills) or (
        db.is_sqlite and workers == 1
    ):
        for fill in fills:
            fill_range(conn, *fill)
        return False
    if db.is_sqlite:
        fill_beside(db, conn, fills, _fillers(workers), ahead)
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


def _fill_alone(
    db: Database, claim: GenerationKey, plan: FillPlan, lo: int, hi: int, excluding: bool
) -> None:
    """Fill a range in a transaction of its own, with the buckets that lie wholly inside it
    (no other fill touches those; ``count_filled`` recounts the ones it shares)."""
    with db.write() as conn:
        # Its commit need not wait for the disk: the cursor moves in a later transaction,
        # whose commit flushes the log up to and past this one.
        conn.exec_driver_sql("SET LOCAL synchronous_commit = off")
        _fill_counted(conn, claim, plan, lo, hi, excluding)


def _fill_counted(
    conn: Connection, claim: GenerationKey, plan: FillPlan, lo: int, hi: int, excluding: bool
) -> None:
    """PostgreSQL: ``fill_range`` and the counts of the buckets wholly inside the range."""
    first, last = buckets.inner_buckets(lo, hi)
    mine = (claim.tenant_id, claim.segment_number, claim.generation)
    if first <= last and templated(plan):
        clear_range(conn, claim, lo, hi)
        statement = fill_template(PublishedReader(conn, claim.tenant_id), claim, plan, excluding)
        conn.execute(buckets.DROP_COUNTS, buckets.span_params(*mine, first, last))
        conn.execute(statement, range_params(lo, hi, first, last))
        return
    insert = _prepare_fill(conn, claim, plan, lo, hi, excluding)
    buckets.insert_counted(conn, insert, *mine, first, last, _complement(plan, hi))


def has_exclusions(conn: Connection, claim: GenerationKey) -> bool:
    ex = segment_exclusions.c
    found = conn.execute(
        sa.select(ex.member_id)
        .where(ex.tenant_id == claim.tenant_id, ex.segment_id == claim.segment_id)
        .limit(1)
    ).first()
    return found is not None


def fill_range(
    conn: Connection, claim: GenerationKey, plan: FillPlan, lo: int, hi: int, excluding: bool = True
) -> None:
    """Replace this generation's rows in (lo, hi]: running it twice gives the same rows.

    ``excluding``: the segment has members removed by hand, to leave out (a test per row).
    """
    conn.execute(_prepare_fill(conn, claim, plan, lo, hi, excluding))


def _prepare_fill(
    conn: Connection, claim: GenerationKey, plan: FillPlan, lo: int, hi: int, excluding: bool
) -> sa.Insert:
    """Delete this generation's rows in (lo, hi]; return the insert of the members that match
    now, or for a complement of those that do not (the caller runs it, alone or with the
    counts it returns)."""
    clear_range(conn, claim, lo, hi)
    answer = answer_of(plan)
    if answer is not None:  # asked for this range only
        given = answer.ids_in(lo, hi)
        where = given_rows(conn, claim, plan.list_id, plan.complement, given, lo, hi, excluding)
    else:
        where = stored_rows(claim, plan, lo, hi, excluding, PublishedReader(conn, claim.tenant_id))
    return generation_insert(claim, where)


def count_filled(
    conn: Connection,
    claim: GenerationKey,
    plan: FillPlan,
    ranges: Ranges,
    inside_counted: bool,
) -> None:
    """Count the buckets of the filled consecutive ``ranges``.

    ``inside_counted``: the fills counted the buckets wholly inside their ranges; only the ones
    at the ends of each range are left.
    """
    lo, cursor = ranges[0][0], ranges[-1][1]
    mine = (claim.tenant_id, claim.segment_number, claim.generation)
    complement = _complement(plan, cursor)
    if inside_counted:
        ends = {buckets.bucket_of(end) for r_lo, r_hi, _ in ranges for end in (r_lo + 1, r_hi)}
        buckets.recount_listed(conn, *mine, sorted(ends), complement)
    else:
        buckets.recount(conn, *mine, lo, cursor, complement)


def _complement(plan: FillPlan, cursor: int) -> buckets.Complement | None:
    """How to count the job's members once its cursor is at ``cursor`` (None: its rows)."""
    return buckets.Complement(plan.list_id, cursor) if plan.complement else None
