"""PostgreSQL: a job's fill statement built once and run for each of its ranges.

A fill's statement is the same for every range of a job but for the range's bounds; building
it (the condition's SQL) and SQLAlchemy's cache key of it cost several milliseconds of Python a
range for a large condition, on the filler threads, while the database waits. Here it is built
once per job, generation and exclusions, with the range's bounds (``lo``, ``hi``) and its inner
buckets (``first``, ``last``) as parameters: the same statement object is run again, its
cache key kept with it.

Only for a condition that does not test other segments: such a leaf compiles differently on
either side of the referenced generation's horizon (``references``), so its statement depends
on the range.
"""

from __future__ import annotations

import threading

import sqlalchemy as sa

from ..domain.condition_types.leaf_types import inputs
from . import buckets
from .interface import FillPlan, GenerationKey
from .range_rows import generation_insert, stored_rows
from .references import PublishedReader

LO, HI, FIRST, LAST = (
    sa.bindparam(name, type_=sa.BigInteger)
    for name in ("fill_lo", "fill_hi", "fill_first", "fill_last")
)
_Key = tuple[int, int, int, bool]
_built: dict[_Key, tuple[FillPlan, sa.Insert]] = {}
_lock = threading.Lock()
_KEPT = 16  # jobs' statements kept at most (a worker runs a few jobs at a time)


def templated(plan: FillPlan) -> bool:
    """Whether ``plan``'s fills can run from one statement."""
    return not inputs(plan.condition).segments


def fill_template(
    published: PublishedReader, claim: GenerationKey, plan: FillPlan, excluding: bool
) -> sa.Insert:
    """The statement filling any range of ``claim``'s generation that has inner buckets (run
    it with ``range_params``), built on first use for this ``plan``."""
    key = (claim.tenant_id, claim.segment_number, claim.generation, excluding)
    with _lock:
        found = _built.get(key)
    if found is not None and found[0] is plan:
        return found[1]
    where = stored_rows(claim, plan, LO, HI, excluding, published)
    # The counts of inner buckets read only a complement's list (its horizon is past them).
    complement = buckets.Complement(plan.list_id, 0) if plan.complement else None
    mine = (claim.tenant_id, claim.segment_number, claim.generation)
    insert = generation_insert(claim, where)
    statement = buckets.counted_insert(insert, *mine, FIRST, LAST, complement)
    with _lock:
        if len(_built) >= _KEPT:
            _built.clear()
        _built[key] = (plan, statement)
    return statement


def range_params(lo: int, hi: int, first: int, last: int) -> dict[str, int]:
    return {"fill_lo": lo, "fill_hi": hi, "fill_first": first, "fill_last": last}
