"""Copy a segment's published membership into ClickHouse (``segment_members``), as one copy
(``copy_id``) that counts once its ``segment_copies`` row, naming the generation and the
newest membership change (``change_log``) it holds, is written: a segment reference reads
the newest finished copy (``read_point``), so a copy cut short is never read. Older copies
of the segment are then deleted in the background."""

from __future__ import annotations

import time
from collections.abc import Iterator
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
            [tenant_id],
            [segment.id],
            [copy_id],
            [segment.generation],
            [history_seq],
            [int(time.time())],
            [written],
        ],
    )
    return written


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
