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

While the writer stores, counts and commits a step, the readers evaluate the next step's
ranges ahead (``ahead``): the writer's work per step would otherwise leave them idle. What they
read is then the state before this step's commit, which differs from the state the next step
starts from by this step's own writes (rows, counts and cursor of a generation no condition
reads) and by any other connection's commits. The next step uses them only when there were
none. Read under the write lock in both steps, SQLite's ``PRAGMA data_version`` of the
writer's connection is unchanged exactly when no other connection committed in between, and
the commits counted on that connection itself (other writers of the process may borrow it
from the pool between steps) must be just this step's. Otherwise they are dropped and the
ranges evaluated again.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from sqlalchemy import event
from sqlalchemy.engine import Connection, Engine

from ..storage.db import Database
from ..storage.schema import members
from .interface import FillRange, GenerationKey
from .range_rows import clear_range, stored_rows
from .references import PublishedReader

_STORE = sa.text(
    "INSERT INTO segment_members (tenant_id, segment_number, generation, member_id) "
    "SELECT :tenant_id, :segment_number, :generation, value FROM json_each(:ids)"
)


@dataclass
class _Ahead:
    """Ranges evaluated ahead of their step, the writer's DBAPI connection that started them,
    and the ``_version`` it must show in the step that takes them."""

    connection: Any
    version: tuple[int, int]
    fills: list[FillRange]
    futures: list[Future[str]]


_ahead: list[_Ahead] = []  # at most one: the last step's
_ahead_lock = threading.Lock()


def _keep_ahead(found: _Ahead) -> None:
    with _ahead_lock:
        dropped, _ahead[:] = list(_ahead), [found]
    for old in dropped:
        _cancel(old.futures)


def _cancel(futures: Sequence[Future[str]]) -> None:
    for future in futures:
        future.cancel()


def fill_beside(
    db: Database,
    conn: Connection,
    fills: Sequence[FillRange],
    readers: ThreadPoolExecutor,
    ahead: Sequence[FillRange] = (),
) -> None:
    """``fill.fill_range`` of every (job, range) in ``conn``, the ranges' conditions evaluated
    side by side by ``readers``, and stored in order as they come. ``ahead``: the next step's
    ranges, evaluated meanwhile for it (this step must not publish anything they read)."""
    connection = conn.connection.dbapi_connection
    version = _version(conn)
    pending = _taken(connection, version, fills)
    try:
        for fill in fills:
            clear_range(conn, fill[0], fill[2], fill[3])
        if not pending:
            pending = [(fill, _evaluate(db, conn, fill, readers)) for fill in fills]
        if ahead:
            futures = [_evaluate(db, conn, fill, readers) for fill in ahead]
            # Valid in the next step if only this step's commit comes between.
            after_commit = (version[0], version[1] + 1)
            _keep_ahead(_Ahead(connection, after_commit, list(ahead), futures))
        for (claim, _plan, _lo, _hi, _excluding), future in pending:
            ids = future.result()
            if ids != "[]":
                conn.execute(_STORE, {**_key(claim), "ids": ids})
    finally:
        _cancel([future for _fill, future in pending])


_COMMITS = "segmentd.fill_beside.commits"


@event.listens_for(Engine, "commit")
def _count_commit(conn: Connection) -> None:
    # Kept with the DBAPI connection (the pool's record), whichever Connection borrows it. An
    # invalidated connection has no record left to count in.
    if conn.dialect.name == "sqlite" and not conn.invalidated:
        info = conn.connection.info
        info[_COMMITS] = info.get(_COMMITS, 0) + 1


def _version(conn: Connection) -> tuple[int, int]:
    """(commits of other connections, commits of this one), as counted so far."""
    others = int(conn.exec_driver_sql("PRAGMA data_version").scalar_one())
    return others, int(conn.connection.info.get(_COMMITS, 0))


def _taken(
    connection: Any, version: tuple[int, int], fills: Sequence[FillRange]
) -> list[tuple[FillRange, Future[str]]]:
    """The evaluations started ahead for ``fills``, when they still hold: the same writer's
    connection, and no commit since but the step's that started them; others are
    cancelled."""
    with _ahead_lock:
        found = _ahead.pop() if _ahead else None
    if found is None:
        return []
    same = found.connection is connection and found.version == version
    if same and found.fills == list(fills):
        return list(zip(fills, found.futures, strict=True))
    _cancel(found.futures)
    return []


def _evaluate(
    db: Database, conn: Connection, fill: FillRange, readers: ThreadPoolExecutor
) -> Future[str]:
    """The ids of ``fill``'s rows as a JSON array, chosen on a reader connection."""
    claim, plan, lo, hi, excluding = fill
    published = PublishedReader(conn, claim.tenant_id)
    where = stored_rows(claim, plan, lo, hi, excluding, published)
    chosen = sa.select(sa.func.json_group_array(members.c.id)).where(*where)
    return readers.submit(_read_ids, db, chosen)


def _key(claim: GenerationKey) -> dict[str, int]:
    return {
        "tenant_id": claim.tenant_id,
        "segment_number": claim.segment_number,
        "generation": claim.generation,
    }


def _read_ids(db: Database, chosen: sa.Select[tuple[str]]) -> str:
    with db.read() as reader:
        return str(reader.execute(chosen).scalar_one())
