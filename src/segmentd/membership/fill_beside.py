"""SQLite: a build's rows chosen on reader connections, beside the writer that stores them.

SQLite has one writer, and a chunk's ``INSERT … SELECT`` evaluates the condition on its
core while the other idles; evaluating it is most of a build's time, storing the rows a
small part. Here reader threads evaluate the ranges of one transaction side by side
(Python's driver lets go of the GIL while SQLite steps) and hand back each range's member
ids as one JSON array, which the writer stores with one ``INSERT … SELECT … FROM
json_each`` as they come.

The readers see exactly what the writer's statement would: the writer holds the write lock
from its ``BEGIN IMMEDIATE``, so no commit lands between that and the readers' snapshots,
which all start after it. What a condition reads (members, tags, activity, exclusions, other
segments' published generations) the writer's transaction has not changed by then: it only
deletes this generation's rows of the ranges, which no condition reads.
"""

from __future__ import annotations

from collections.abc import Sequence
from concurrent.futures import Future, ThreadPoolExecutor

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from ..storage.db import Database
from ..storage.schema import members
from .interface import FillRange, GenerationKey
from .range_rows import clear_range, stored_rows
from .references import PublishedReader

_STORE = sa.text(
    "INSERT INTO segment_members (tenant_id, segment_number, generation, member_id) "
    "SELECT :tenant_id, :segment_number, :generation, value FROM json_each(:ids)"
)


def fill_beside(
    db: Database, conn: Connection, fills: Sequence[FillRange], readers: ThreadPoolExecutor
) -> None:
    """``fill.fill_range`` of every (job, range) in ``conn``, the ranges' conditions evaluated
    side by side by ``readers``, and stored in order as they come."""
    pending: list[tuple[FillRange, Future[str]]] = []
    try:
        for fill in fills:
            claim, plan, lo, hi, excluding = fill
            clear_range(conn, claim, lo, hi)
            published = PublishedReader(conn, claim.tenant_id)
            where = stored_rows(claim, plan, lo, hi, excluding, published)
            chosen = sa.select(sa.func.json_group_array(members.c.id)).where(*where)
            pending.append((fill, readers.submit(_read_ids, db, chosen)))
        for (claim, _plan, _lo, _hi, _excluding), future in pending:
            ids = future.result()
            if ids != "[]":
                conn.execute(_STORE, {**_key(claim), "ids": ids})
    finally:
        for _fill, future in pending:
            future.cancel()


def _key(claim: GenerationKey) -> dict[str, int]:
    return {
        "tenant_id": claim.tenant_id,
        "segment_number": claim.segment_number,
        "generation": claim.generation,
    }


def _read_ids(db: Database, chosen: sa.Select[tuple[str]]) -> str:
    with db.read() as reader:
        return str(reader.execute(chosen).scalar_one())
