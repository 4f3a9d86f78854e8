"""A generation's rows written from a list of member ids in one statement.

The ids travel as one parameter (a JSON array on SQLite, an array on PostgreSQL) and the
database expands them: a row per member written from Python (``executemany``) cost most of a
build whose members were chosen elsewhere (docs/performance.md).
"""

from __future__ import annotations

import json
from collections.abc import Sequence

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from .interface import GenerationKey

_COLUMNS = "INSERT INTO segment_members (tenant_id, segment_number, generation, member_id) "
_SQLITE = sa.text(
    _COLUMNS + "SELECT :tenant_id, :segment_number, :generation, value FROM json_each(:ids)"
)
_POSTGRES = sa.text(
    _COLUMNS + "SELECT :tenant_id, :segment_number, :generation, unnest(CAST(:ids AS bigint[]))"
)


def store_ids(conn: Connection, claim: GenerationKey, ids: Sequence[int] | str) -> None:
    """Insert the generation's rows of ``ids``: member ids, or on SQLite their JSON array."""
    if not ids or ids == "[]":
        return
    key = {
        "tenant_id": claim.tenant_id,
        "segment_number": claim.segment_number,
        "generation": claim.generation,
    }
    if conn.dialect.name == "postgresql":
        conn.execute(_POSTGRES, {**key, "ids": list(ids)})
    else:
        conn.execute(_SQLITE, {**key, "ids": ids if isinstance(ids, str) else json.dumps(ids)})
