"""How many members of a list a typed condition selects now: the count of previews and of the
UI's live count.

A condition that reads other segments' membership is counted range by range of member ids
(``RANGE_IDS`` a statement), each compiled for its range: a referenced generation's rows are
then read a range at a time, which PostgreSQL hashes in memory and SQLite lists in a small
temporary index, where the whole list's rows at once outgrow the one and slow the other.
"""

from __future__ import annotations

from sqlalchemy.engine import Connection

from ..domain.condition_types.leaf_types import inputs
from ..domain.conditions import Condition
from ..membership import store as membership
from ..storage.compiler import compile_condition
from ..storage.list_members import count_in_range, count_matching, member_id_span

RANGE_IDS = 100_000  # member ids per statement when the condition reads segments


def count_selected(
    conn: Connection,
    tenant_id: int,
    list_id: int,
    condition: Condition,
    excluded_by: str | None = None,
    range_ids: int = RANGE_IDS,
) -> int:
    """Members of the list the condition selects now (segment leaves read the published
    memberships as ``conn`` sees them), less the exclusions of segment ``excluded_by``."""
    reader = membership().published_sql(conn, tenant_id)
    if not inputs(condition).segments:
        where = compile_condition(condition, tenant_id=tenant_id, segments=reader)
        return count_matching(conn, tenant_id, list_id, where, excluded_by)
    span = member_id_span(conn, tenant_id, list_id)
    if span is None:
        return 0
    first, last = span
    total = 0
    for lo in range(first - 1, last, range_ids):
        ids = (lo, min(lo + range_ids, last))
        where = compile_condition(condition, ids, tenant_id, reader)
        total += count_in_range(conn, tenant_id, list_id, ids, where, excluded_by)
    return total
