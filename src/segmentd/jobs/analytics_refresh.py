"""The daily refresh answered on the analytics back-end: the copy is brought up to date once
per attempt, then each chunk's members are selected on ClickHouse for every segment of the
job in one query (``AnalyticsSource.select_each``), and ``MembershipStore.refresh`` publishes
each segment's difference in the chunk's transaction, as the refresh on the system of record
does (the same rows, history with the cause "refresh", counts and webhooks).

The copy can be older than the system of record for a few members: those with outbox rows
still waiting, and those whose membership of a segment a condition refers to changed since
that segment's copy (``history_blocks`` after the copy's ``history_seq``). They are the
``unsure`` members of the chunk's answers, evaluated on the system of record. Both are read
in the chunk's transaction before the query: it holds the segments' locks, so no change to
these members commits until it does (SQLite has one writer; on PostgreSQL a member change
waits for the list's segments), and a member without a waiting outbox row is in the copy as
the system of record holds it, and stays so while the chunk runs.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from ..analytics.read_point import ReadPoint
from ..domain.condition_types.leaf_types import inputs
from ..domain.conditions import Condition
from ..membership import RefreshTarget
from ..storage import analytics_outbox as outbox
from ..storage.db import Database
from ..storage.membership_history import members_moved_since
from ..storage.schema import members, segments
from .analytics_source import AnalyticsSource

log = logging.getLogger("segmentd.jobs")


@dataclass(frozen=True)
class Answered:
    """One chunk's answers (``membership.RangeAnswers``)."""

    selected: Mapping[str, frozenset[int]]
    unsure: frozenset[int]


@dataclass(frozen=True)
class RefreshOnCopy:
    """A refresh attempt's questions to the copy, synced when the attempt started (at
    ``fresh_as_of``, epoch s)."""

    source: AnalyticsSource
    tenant_id: int
    list_id: int
    fresh_as_of: int

    def answers(
        self, conn: Connection, targets: Sequence[RefreshTarget], lo: int, hi: int
    ) -> Answered:
        """Every target's members of (lo, hi] as the copy selects them, and the members the
        copy may not hold as ``conn`` sees them (read first: see the module's docstring)."""
        unsure = outbox.members_waiting(conn, self.tenant_id, lo, hi)
        conditions = {t.segment_id: t.condition for t in targets}
        selected, point = self.source.select_each(self.tenant_id, self.list_id, conditions, lo, hi)
        for segment_id in sorted(referenced(t.condition for t in targets)):
            unsure |= moved_since_copy(conn, self.tenant_id, segment_id, point, lo, hi)
        return Answered(selected, frozenset(unsure))


def referenced(conditions: Iterable[Condition]) -> set[str]:
    """The segments the conditions refer to."""
    found: set[str] = set()
    for condition in conditions:
        found |= set(inputs(condition).segments)
    return found


def on_copy(
    source: AnalyticsSource, db: Database, tenant_id: int, list_id: int, segment_ids: set[str]
) -> RefreshOnCopy:
    """Bring the tenant's copy up to date (its outbox, the segments ``segment_ids``) for a
    refresh attempt. Raises what ClickHouse raises: the attempt is abandoned and retried,
    and the published memberships stay as they are."""
    synced = source.sync(db, tenant_id, frozenset(segment_ids))
    log.info(
        "refresh of list %s: answered chunk by chunk on the analytics copy, fresh as of %s",
        list_id,
        synced.fresh_as_of,
    )
    return RefreshOnCopy(source, tenant_id, list_id, synced.fresh_as_of)


def moved_since_copy(
    conn: Connection, tenant_id: int, segment_id: str, point: ReadPoint, lo: int, hi: int
) -> set[int]:
    """The members of (lo, hi] whose membership of the segment the copy read may not hold:
    changed since its copy, or all of them when there is no copy (or no segment)."""
    s = segments.c
    number = conn.execute(
        sa.select(s.number).where(s.tenant_id == tenant_id, s.id == segment_id)
    ).scalar()
    copy = point.copies.get(segment_id)
    if number is not None and copy is not None:
        return members_moved_since(conn, tenant_id, int(number), copy.history_seq, lo, hi)
    m = members.c
    everyone = sa.select(m.id).where(m.tenant_id == tenant_id, m.id > lo, m.id <= hi)
    return {int(i) for i in conn.execute(everyone).scalars()}
