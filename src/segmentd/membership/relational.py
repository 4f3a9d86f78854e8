"""The relational membership: rows of ``segment_members`` in the segments' own database.

Each concept has its module; this class only puts them behind ``MembershipStore``:

- ``complement``: the rule saying which members a generation's rows stand for
- ``buckets``: exact member counts per bucket of member ids (pages, totals)
- ``fill``: a build's ranges of rows, side by side (``fill_beside`` on SQLite,
  ``range_rows`` saying which members they are)
- ``publish``: the swap to a new generation, and discarding one
- ``stale``: deleting generations nobody reads any more
- ``realtime`` over ``generation_rows``: members' changes applied in the writer's transaction
- ``refresh_pass`` over ``generation_rows``: the daily refresh of time-dependent segments
- ``rebuild_difference`` over ``generation_rows``: a rebuild's entered and left members,
  selected elsewhere, applied to the published generation
- ``rebuild_query``: a rebuild's difference found here, in one query, applied the same way
- ``pages``, ``removal``, ``member_held``: reading and removing published members
- ``visitor_reader`` over ``lookup_queries``: the look-up's reads
- ``references``: the published membership other segments' conditions read, in SQL
- ``given_members``: the members of static segments, given by hand
- ``deletion``: a segment deleted, its members recorded leaving
"""

from __future__ import annotations

from collections.abc import Collection, Iterator, Sequence
from datetime import timezone

from sqlalchemy.engine import Connection
from sqlalchemy.sql import ColumnElement

from ..domain.conditions import Condition
from ..domain.member_changes import MembersChanged
from ..storage.db import Database
from ..storage.segments import Segment
from . import (
    deletion,
    fill,
    given_members,
    member_held,
    pages,
    publish,
    realtime,
    rebuild_difference,
    rebuild_query,
    refresh_pass,
    removal,
    stale,
)
from .interface import (
    FillPlan,
    FillRange,
    GenerationKey,
    RangeAnswers,
    Ranges,
    Rebuilt,
    RefreshTarget,
)
from .references import PublishedReader
from .visitor_reader import VisitorReader


class RelationalMembership:
    """``MembershipStore`` over the tables of ``storage.schema``; it keeps no state."""

    def has_exclusions(self, conn: Connection, key: GenerationKey) -> bool:
        return fill.has_exclusions(conn, key)

    def fill(
        self,
        db: Database,
        conn: Connection,
        fills: Sequence[FillRange],
        workers: int,
        ahead: Sequence[FillRange] = (),
    ) -> bool:
        return fill.fill_ranges(db, conn, fills, workers, ahead)

    def count_filled(
        self,
        conn: Connection,
        key: GenerationKey,
        plan: FillPlan,
        ranges: Ranges,
        inside_counted: bool,
    ) -> None:
        fill.count_filled(conn, key, plan, ranges, inside_counted)

    def publish(self, conn: Connection, key: GenerationKey, horizon: int) -> int:
        return publish.publish(conn, key, horizon)

    def discard(self, conn: Connection, key: GenerationKey) -> None:
        publish.discard(conn, key)

    def drop_stale(self, db: Database, tenant_id: int, segment_id: str, chunk: int) -> int:
        return stale.drop_stale_generations(db, tenant_id, segment_id, chunk)

    def sweep_stale(self, db: Database, chunk: int) -> int:
        return stale.sweep_stale_generations(db, chunk)

    def refresh(
        self,
        conn: Connection,
        tenant_id: int,
        list_id: int,
        ids: tuple[int, int],
        targets: Sequence[RefreshTarget],
        tz: timezone,
        answers: RangeAnswers | None = None,
    ) -> int:
        moved = refresh_pass.refresh_range(conn, tenant_id, list_id, *ids, targets, answers)
        for segment_id, member_ids in sorted(moved.items()):
            realtime.refresh_referrers(conn, tenant_id, segment_id, sorted(member_ids), tz)
        return sum(len(member_ids) for member_ids in moved.values())

    def apply_difference(
        self,
        conn: Connection,
        key: GenerationKey,
        list_id: int,
        horizon: int,
        condition: Condition,
        named: tuple[Collection[int], Collection[int], Collection[int]],
    ) -> Rebuilt:
        return rebuild_difference.apply_difference(conn, key, list_id, horizon, condition, named)

    def rebuild_in_place(
        self,
        conn: Connection,
        key: GenerationKey,
        list_id: int,
        horizon: int,
        condition: Condition,
        limit: int,
    ) -> Rebuilt | None:
        return rebuild_query.rebuild_in_place(conn, key, list_id, horizon, condition, limit)

    def apply_changes(
        self, conn: Connection, tenant_id: int, changed: MembersChanged, tz: timezone
    ) -> None:
        realtime.refresh_memberships(
            conn,
            tenant_id,
            changed.member_ids,
            tz,
            changed.catalog,
            list_id=changed.list_id,
            changes=changed.changes,
            created=changed.created,
        )

    def drop_members(self, conn: Connection, tenant_id: int, member_ids: Sequence[int]) -> None:
        realtime.drop_memberships(conn, tenant_id, member_ids)

    def member_segments(self, db: Database) -> VisitorReader:
        return VisitorReader(db)

    def page(
        self,
        conn: Connection,
        segment: Segment,
        *,
        where: ColumnElement[bool] | None = None,
        offset: int = 0,
        limit: int = 10,
    ) -> tuple[list[int], int]:
        return pages.member_page(conn, segment, where=where, offset=offset, limit=limit)

    def member_ids(self, conn: Connection, segment: Segment, batch: int) -> Iterator[list[int]]:
        return pages.published_member_ids(conn, segment, batch)

    def count(self, conn: Connection, key: GenerationKey) -> int:
        return publish.count(conn, key)

    def holds_member(self, conn: Connection, segment: Segment, member_id: int) -> bool:
        return member_held.holds_member(conn, segment, member_id)

    def segments_holding(
        self, conn: Connection, tenant_id: int, list_id: int, member_id: int
    ) -> list[str]:
        return member_held.segments_holding_member(conn, tenant_id, list_id, member_id)

    def remove(
        self, conn: Connection, tenant_id: int, segment_id: str, member_ids: Sequence[int]
    ) -> int | None:
        return removal.remove_members(conn, tenant_id, segment_id, member_ids)

    def published_sql(self, conn: Connection, tenant_id: int) -> PublishedReader:
        return PublishedReader(conn, tenant_id)

    def refresh_referrers(
        self,
        conn: Connection,
        tenant_id: int,
        segment_id: str,
        member_ids: Sequence[int],
        tz: timezone,
    ) -> None:
        realtime.refresh_referrers(conn, tenant_id, segment_id, member_ids, tz)

    def add_given(self, conn: Connection, segment: Segment, member_ids: Sequence[int]) -> int:
        return len(given_members.put_in(conn, segment, member_ids))

    def remove_given(self, conn: Connection, segment: Segment, member_ids: Sequence[int]) -> int:
        return len(given_members.take_out(conn, segment, member_ids))

    def delete_segment(self, conn: Connection, segment: Segment) -> None:
        deletion.delete_membership(conn, segment)
