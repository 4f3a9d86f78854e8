"""How many members of a list a typed condition selects now: the count of previews and of the
UI's live count.

A condition is counted range by range of member ids (``RANGE_IDS`` a statement), each
compiled for its range, and the ranges are counted on two connections side by side
(``storage.side_by_side``): a count is one core's work per statement. Compiled for its range,
a statement also reads only that range's rows of the tables its subqueries read (activity,
tags, a referenced generation), which PostgreSQL aggregates or hashes in memory and SQLite
lists in a small temporary index, where the whole list's rows at once spilled to disk in
the one and slowed the other.
"""

from __future__ import annotations

from functools import partial

from sqlalchemy.engine import Connection
from sqlalchemy.sql import Executable

from ..domain.condition_types.leaf_types import inputs
from ..domain.conditions import Condition
from ..membership import store as membership
from ..storage.compiler import compile_condition
from ..storage.list_members import count_in_range_query, member_id_span
from ..storage.side_by_side import sum_side_by_side

RANGE_IDS = 100_000  # member ids per statement


def count_selected(
    conn: Connection,
    tenant_id: int,
    list_id: int,
    condition: Condition,
    excluded_by: str | None = None,
    range_ids: int = RANGE_IDS,
) -> int:
    """Members of the list the condition selects now (segment leaves read the published
    memberships as ``conn`` sees them), less the exclusions of segment ``excluded_by``.

    ``conn`` must read one state throughout (``Database.snapshot``): the statements name the
    referenced segments' generations as first read, whose rows a publish deletes soon
    after."""
    span = member_id_span(conn, tenant_id, list_id)
    if span is None:
        return 0
    reader = membership().published_sql(conn, tenant_id)
    first, last = span

    def statement(lo: int) -> Executable:
        ids = (lo, min(lo + range_ids, last))
        where = compile_condition(condition, ids, tenant_id, reader)
        return count_in_range_query(tenant_id, list_id, ids, where, excluded_by)

    starts = range(first - 1, last, range_ids)
    reads_segments = bool(inputs(condition).segments)
    if reads_segments:
        # The reader reads the referenced generations on ``conn`` as it compiles: only the
        # caller's thread may compile. Another generation of a referenced segment, or its
        # rows deleted, would change a member's answer: these need the caller's very snapshot.
        return sum_side_by_side(conn, [statement(lo) for lo in starts], same_snapshot=True)
    # Each range compiled by the thread that counts it, beside the other's counting.
    return sum_side_by_side(conn, [partial(statement, lo) for lo in starts], same_snapshot=False)
