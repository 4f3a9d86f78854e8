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

from sqlalchemy.engine import Connection

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
    statements = []
    for lo in range(first - 1, last, range_ids):
        ids = (lo, min(lo + range_ids, last))
        where = compile_condition(condition, ids, tenant_id, reader)
        statements.append(count_in_range_query(tenant_id, list_id, ids, where, excluded_by))
    # Another generation of a referenced segment, or its rows deleted, would change a
    # member's answer: such statements need the caller's very snapshot.
    return sum_side_by_side(conn, statements, same_snapshot=bool(inputs(condition).segments))
