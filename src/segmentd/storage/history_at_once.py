"""PostgreSQL: a transaction's staged history rows stored in one statement.

A real-time update stages a few changes known in Python, for segments it read in the same
transaction (``change_log.SegmentName``). Storing them took a statement each for the
counter, the segments' names, the changes and the sizes: a round trip each. Here they are
data-modifying CTEs of one statement over array parameters (its text, and its prepared plan,
the same whatever the number of rows). Each CTE runs once, to completion; none touches a row
another one does, and the sizes read the totals the transaction wrote before this statement.
The counter's row lock is taken in the transaction's last statement before COMMIT, as
``change_log`` requires.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from .prepared import OPTION as PREPARED

Moved = tuple[int, int, int, int]  # (segment number, member id, change, cause code)
Name = tuple[int, str, int]  # (segment number, segment id, list id)

_STATEMENT = sa.text(
    """
WITH counter AS (
    INSERT INTO change_counters (tenant_id, seq) VALUES (:tenant_id, CAST(:taking AS BIGINT))
    ON CONFLICT (tenant_id) DO UPDATE SET seq = change_counters.seq + excluded.seq
    RETURNING seq - CAST(:taking AS BIGINT) AS last
), named AS (
    INSERT INTO history_segments (tenant_id, segment_number, segment_id, list_id)
    SELECT :tenant_id, n.number, n.id, n.list_id
    FROM unnest(CAST(:name_numbers AS BIGINT[]), CAST(:name_ids AS VARCHAR[]),
                CAST(:name_lists AS BIGINT[])) AS n(number, id, list_id)
    ON CONFLICT (tenant_id, segment_number) DO NOTHING
), changes AS (
    INSERT INTO membership_changes
        (tenant_id, seq, seq_block, segment_number, member_id, change, cause, at)
    SELECT :tenant_id, c.last + r.k, (c.last + r.k) / CAST(:block AS BIGINT), r.number,
           r.member_id, r.change, r.cause, CAST(:at AS BIGINT)
    FROM counter AS c,
         unnest(CAST(:numbers AS BIGINT[]), CAST(:members AS BIGINT[]),
                CAST(:changes AS SMALLINT[]), CAST(:causes AS SMALLINT[]))
         WITH ORDINALITY AS r(number, member_id, change, cause, k)
), sizes AS (
    INSERT INTO segment_sizes (tenant_id, segment_id, day, size)
    SELECT s.tenant_id, s.id, CAST(:day AS DATE), s.member_total
    FROM segments AS s
    WHERE s.tenant_id = :tenant_id AND s.id = ANY(CAST(:ids AS VARCHAR[]))
    ON CONFLICT (tenant_id, segment_id, day) DO UPDATE SET size = excluded.size
)
SELECT last FROM counter
"""
).execution_options(**PREPARED)


def store(
    conn: Connection,
    tenant_id: int,
    moved: Sequence[Moved],
    unnamed: Sequence[Name],
    segment_ids: Sequence[str],
    at: int,
    day: date,
    block: int,
) -> None:
    """Number ``moved`` after the tenant's counter (in the order given), insert them, name
    the ``unnamed`` segments, and note today's size of ``segment_ids``."""
    params: dict[str, Any] = {
        "tenant_id": tenant_id,
        "taking": len(moved),
        "name_numbers": [n for n, _, _ in unnamed],
        "name_ids": [i for _, i, _ in unnamed],
        "name_lists": [li for _, _, li in unnamed],
        "block": block,
        "at": at,
        "numbers": [row[0] for row in moved],
        "members": [row[1] for row in moved],
        "changes": [row[2] for row in moved],
        "causes": [row[3] for row in moved],
        "day": day,
        "ids": list(segment_ids),
    }
    conn.execute(_STATEMENT, params)
