"""PostgreSQL: a transaction's history blocks stored in one statement.

A real-time update stages a few changes known in Python, a publish its difference read into
Python; either way ``change_log`` hands over blocks of ids (``id_blocks.Block``). Storing them
took a statement each for the counter, the segments' names, the blocks and the sizes: a round
trip each. Here they are data-modifying CTEs of one statement over array parameters (its
text, and its prepared plan, the same whatever the number of blocks). The blocks' columns
travel as one comma-separated text each and their ids as one value, cut back by offset: a
list parameter is adapted item by item in Python, which cost more than the statement for a
first build's thousands of blocks. Each CTE runs once, to
completion; none touches a row another one does, and the sizes read the totals the
transaction wrote before this statement. The counter's row lock is taken in the
transaction's last statement before COMMIT, as ``change_log`` requires.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import date
from itertools import accumulate
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from .id_blocks import Block
from .prepared import OPTION as PREPARED

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
), blocks AS (
    INSERT INTO history_blocks
        (tenant_id, last_seq, size, segment_number, change, cause, at, lo, hi, level, ids)
    SELECT :tenant_id, c.last + b.upto, b.size, b.number, b.change, b.cause,
           CAST(:at AS BIGINT), b.lo, b.hi, b.level,
           substring(CAST(:ids AS BYTEA) FROM b.start FOR b.length)
    FROM counter AS c,
         unnest(CAST(string_to_array(:upto, ',') AS BIGINT[]),
                CAST(string_to_array(:sizes, ',') AS INTEGER[]),
                CAST(string_to_array(:numbers, ',') AS BIGINT[]),
                CAST(string_to_array(:changes, ',') AS SMALLINT[]),
                CAST(string_to_array(:causes, ',') AS SMALLINT[]),
                CAST(string_to_array(:los, ',') AS BIGINT[]),
                CAST(string_to_array(:his, ',') AS BIGINT[]),
                CAST(string_to_array(:levels, ',') AS SMALLINT[]),
                CAST(string_to_array(:starts, ',') AS INTEGER[]),
                CAST(string_to_array(:lengths, ',') AS INTEGER[]))
         AS b(upto, size, number, change, cause, lo, hi, level, start, length)
), sizes AS (
    INSERT INTO segment_sizes (tenant_id, segment_id, day, size)
    SELECT s.tenant_id, s.id, CAST(:day AS DATE), s.member_total
    FROM segments AS s
    WHERE s.tenant_id = :tenant_id AND s.id = ANY(CAST(:segment_ids AS VARCHAR[]))
    ON CONFLICT (tenant_id, segment_id, day) DO UPDATE SET size = excluded.size
)
SELECT last FROM counter
"""
).execution_options(**PREPARED)


def store(
    conn: Connection,
    tenant_id: int,
    stored: Sequence[Block],
    unnamed: Sequence[Name],
    segment_ids: Sequence[str],
    at: int,
    day: date,
) -> None:
    """Number the blocks after the tenant's counter (in the order given, each block's ids
    consecutive), insert them, name the ``unnamed`` segments, and note today's size of
    ``segment_ids``."""
    upto = list(accumulate(b.size for b in stored))
    lengths = [len(b.ids) for b in stored]
    params: dict[str, Any] = {
        "tenant_id": tenant_id,
        "taking": upto[-1] if upto else 0,
        "name_numbers": [n for n, _, _ in unnamed],
        "name_ids": [i for _, i, _ in unnamed],
        "name_lists": [li for _, _, li in unnamed],
        "at": at,
        "upto": _joined(upto),
        "sizes": _joined(b.size for b in stored),
        "numbers": _joined(b.segment_number for b in stored),
        "changes": _joined(b.change for b in stored),
        "causes": _joined(b.cause for b in stored),
        "los": _joined(b.lo for b in stored),
        "his": _joined(b.hi for b in stored),
        "levels": _joined(b.level for b in stored),
        "starts": _joined(_starts(lengths)),
        "lengths": _joined(lengths),
        "ids": b"".join(b.ids for b in stored),
        "day": day,
        "segment_ids": list(segment_ids),
    }
    conn.execute(_STATEMENT, params)


def _joined(numbers: Iterable[int]) -> str:
    """Integers as one comma-separated text (split back into an array by the statement)."""
    return ",".join(map(str, numbers))


def _starts(lengths: Sequence[int]) -> Iterable[int]:
    """Where each block's ids start in their concatenation (1-based, as ``substring`` counts)."""
    return (end - length + 1 for end, length in zip(accumulate(lengths), lengths, strict=True))
