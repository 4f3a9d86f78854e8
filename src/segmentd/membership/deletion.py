"""A segment deleted: every member of its published membership recorded leaving, then its
rows and counts deleted, in the deleting transaction.

The history's staged query runs as the transaction's last step (``storage.change_log``), so
the rows it reads are deleted only after it: a segment of a million members records its
leaving set-based, no row in Python.
"""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from ..storage import change_log
from ..storage.change_log import StagedQuery
from ..storage.schema import segment_buckets, segment_members
from ..storage.segments import Segment
from .publish_changes import Published, everyone_leaving

CAUSE = "deleted"


def delete_membership(conn: Connection, segment: Segment) -> None:
    """Stage the published members leaving; delete every generation's rows and counts once
    the history is stored (at once when nothing was ever published)."""

    def drop(connection: Connection) -> None:
        for table in (segment_members, segment_buckets):
            c = table.c
            connection.execute(
                sa.delete(table).where(
                    c.tenant_id == segment.tenant_id, c.segment_number == segment.number
                )
            )

    if segment.generation <= 0:
        drop(conn)
        return
    published = Published(
        segment.tenant_id, segment.list_id, segment.number, segment.generation, segment.horizon
    )
    staged = StagedQuery(
        segment.id, CAUSE, everyone_leaving(published), deleted=(segment.number, segment.list_id)
    )
    change_log.stage_query(conn, segment.tenant_id, staged, then=drop)
