"""Segment membership as other segments' conditions read it: whether a segment's published
generation holds a member, in SQL, for builds, counts and previews
(``storage.condition_sql.segment_sql``).

The referenced segment's published generation, number and horizon are read once, in the
transaction the SQL runs in, so the test reads only its rows (or its complement's), never a
join on ``segments``. A build chunk whose reference publishes
meanwhile is followed by a rebuild (``jobs.build_queue.enqueue_dependents``).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import sqlalchemy as sa
from sqlalchemy.engine import Connection
from sqlalchemy.sql import ColumnElement

from ..storage.condition_sql.leaf_compiler import IdRange, in_range
from ..storage.schema import members, segment_members, segments
from .complement import held


@dataclass
class PublishedReader:
    """``PublishedMembership`` in ``conn``: what the referenced segments published, read on
    first use. ``generations``: the published generation of each segment read."""

    conn: Connection
    tenant_id: int
    generations: dict[str, int] = field(default_factory=dict)
    _found: dict[str, tuple[int, int, int]] = field(default_factory=dict)

    def __call__(self, segment_id: str, ids: IdRange | None) -> ColumnElement[bool]:
        number, generation, horizon = self._published(segment_id)
        if generation <= 0:
            return sa.false()  # nothing published yet: it holds no one
        present = self._present(number, generation, ids)
        if horizon <= 0 or (ids is not None and ids[0] >= horizon):
            return present
        if ids is not None and ids[1] <= horizon:
            return sa.not_(present)
        return held(members.c.id, present, horizon)

    def _present(self, number: int, generation: int, ids: IdRange | None) -> ColumnElement[bool]:
        """Whether the generation has a row for the member. PostgreSQL turns EXISTS into a
        semi-join (NOT EXISTS into an anti-join); SQLite runs a correlated EXISTS once per
        member, but an IN list once per statement (5 times faster at 300,000 members), and
        NOT IN is safe here: the column is never NULL. Either repeats the caller's range on
        the rows (``condition_sql.leaf_compiler.in_range``): PostgreSQL does not carry it
        across the join, and read every row of the generation for each chunk of a build."""
        sm = segment_members.c
        mine = [
            sm.tenant_id == self.tenant_id,
            sm.segment_number == number,
            sm.generation == generation,
            *in_range(sm.member_id, ids),
        ]
        if self.conn.dialect.name == "sqlite":
            return members.c.id.in_(sa.select(sm.member_id).where(*mine))
        return sa.exists().where(*mine, sm.member_id == members.c.id).is_(sa.true())

    def _published(self, segment_id: str) -> tuple[int, int, int]:
        if segment_id not in self._found:
            s = segments.c
            row = self.conn.execute(
                sa.select(s.number, s.generation, s.horizon).where(
                    s.tenant_id == self.tenant_id, s.id == segment_id
                )
            ).first()
            found = (int(row.number), int(row.generation), int(row.horizon)) if row else (0, 0, 0)
            self._found[segment_id] = found
            self.generations[segment_id] = found[1]
        return self._found[segment_id]
