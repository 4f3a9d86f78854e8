"""Copy a segment's published membership into ClickHouse (``segment_members``), as one copy
(``copy_id``) that counts once its ``segment_copies`` row, naming the generation and the
newest membership change (``change_log``) it holds, is written: a segment reference reads
the newest finished copy (``read_point``), so a copy cut short is never read. Older copies
of the segment are then deleted in the background."""

from __future__ import annotations

import time
from collections.abc import Collection, Iterator
from typing import Protocol

from sqlalchemy.engine import Connection

from ..storage.change_log import last_change
from ..storage.segments import Segment
from .clickhouse_schema import SEGMENT_COPIES, SEGMENT_MEMBERS
from .engine import Constant, insert_columns
from .target import Target


class PublishedMembers(Protocol):
    """The published members of a segment in id order, ``batch`` at a time (in a snapshot):
    ``MembershipStore.member_ids``, which the caller passes (the membership sits above)."""

    def __call__(self, conn: Connection, segment: Segment, batch: int) -> Iterator[list[int]]: ...


def copy_segment(
    conn: Connection,
    target: Target,
    published: PublishedMembers,
    segment: Segment,
    copy_id: int,
    *,
    batch: int = 10_000,
) -> int:
    """Write the segment's published membership (read on ``conn``, a snapshot) as copy
    ``copy_id``, then record the copy; the members written."""
    written = 0
    tenant_id = segment.tenant_id
    history_seq = last_change(conn, tenant_id, segment.number)
    for ids in published(conn, segment, batch):
        constants: dict[str, Constant] = {
            "tenant_id": tenant_id,
            "segment_id": segment.id,
            "copy_id": copy_id,
        }
        members = [("member_id", "UInt64", ids)]
        insert_columns(target.engine, f"{target.database}.{SEGMENT_MEMBERS}", members, constants)
        written += len(ids)
    _record(target, segment, copy_id, history_seq, written)
    return written


def _record(target: Target, segment: Segment, copy_id: int, history_seq: int, written: int) -> None:
    """The copy's ``segment_copies`` row: from now on a reference reads it."""
    target.engine.insert(
        f"{target.database}.{SEGMENT_COPIES}",
        [
            "tenant_id",
            "segment_id",
            "copy_id",
            "generation",
            "history_seq",
            "finished_at",
            "members",
        ],
        [
            [segment.tenant_id],
            [segment.id],
            [copy_id],
            [segment.generation],
            [history_seq],
            [int(time.time())],
            [written],
        ],
    )


def drop_older_copies(
    target: Target, tenant_id: int, below: int, table: str, column: str, segment_id: str = ""
) -> None:
    """Delete, in the background, the tenant's rows of ``table`` whose ``column`` is below
    ``below`` (of one segment when ``segment_id`` is given)."""
    where = f"tenant_id = {int(tenant_id)} AND {column} < {int(below)}"
    if segment_id:
        # The layout's deletes take no parameters: an id other than letters, digits and
        # dashes (never generated) is left to the next full load's clean-up.
        if not segment_id.replace("-", "").isalnum() or not segment_id.isascii():
            return
        where += f" AND segment_id = '{segment_id}'"
    found = target.engine.rows(f"SELECT count() FROM {target.database}.{table} WHERE {where}")
    if found and int(found[0][0]) > 0:
        target.layout.delete_where(target.engine, target.database, table, where)


def advance_copy(
    target: Target,
    segment: Segment,
    history_seq: int,
    copies: tuple[int, int],
    moved: tuple[Collection[int], Collection[int]],
) -> int:
    """Write copy ``copies[1]`` of the segment from its copy ``copies[0]`` on ClickHouse
    itself: its members but those of ``moved`` = (holding, without), and the holding ones
    added; then record it as of ``history_seq`` (the published membership then, which the
    caller knows the two to make). The members written."""
    old, copy_id = copies
    holding, without = moved
    named = sorted({*holding, *without})
    where = f"tenant_id = {int(segment.tenant_id)} AND {_segment_is(segment.id)}"
    kept = f"{where} AND copy_id = {int(old)}"
    if named:
        kept += f" AND member_id NOT IN ({', '.join(str(int(m)) for m in named)})"
    target.layout.copy_where(
        target.engine,
        target.database,
        SEGMENT_MEMBERS,
        "tenant_id, segment_id, copy_id, member_id",
        f"tenant_id, segment_id, {int(copy_id)}, member_id",
        kept,
    )
    table = f"{target.database}.{SEGMENT_MEMBERS}"
    constants: dict[str, Constant] = {
        "tenant_id": segment.tenant_id,
        "segment_id": segment.id,
        "copy_id": copy_id,
    }
    insert_columns(target.engine, table, [("member_id", "UInt64", sorted(holding))], constants)
    counted = target.engine.rows(
        f"SELECT count() FROM {table} WHERE {where} AND copy_id = {int(copy_id)}"
    )
    written = int(counted[0][0])
    _record(target, segment, copy_id, history_seq, written)
    return written


def _segment_is(segment_id: str) -> str:
    """``segment_id = '<id>'`` for SQL without parameters (a layout's statements): the ids
    segmentd makes are letters, digits and dashes; any other is refused."""
    if not segment_id.replace("-", "").isalnum() or not segment_id.isascii():
        raise ValueError(f"not a segment id segmentd makes: {segment_id!r}")
    return f"segment_id = '{segment_id}'"
