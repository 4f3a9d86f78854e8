"""The membership interface: which members each segment holds, and the ways to change that.

Callers (the build job, the member write services, the look-ups, the pages and exports) go
through ``MembershipStore``; ``membership.store()`` gives the implementation in use, today
the relational one (``membership.relational``: rows of ``segment_members`` in the segments'
own database). A second implementation (a columnar store, say) would sit behind the same
methods.

What every implementation guarantees:

- **Generations.** A segment's membership is numbered by generation. Readers only ever see
  the *published* one (``segments.generation``); a build fills the next one beside it, in
  ranges of member ids, and ``publish`` swaps it in at once. Generations that are neither
  published nor being built are *stale*: never read again, deleted by ``drop_stale``.
- **Transactions.** A method taking a ``Connection`` works in the caller's transaction and
  commits nothing: a real-time update commits or rolls back with the member change that
  caused it, a publish with the lease check. A method taking a ``Database`` opens its own
  transactions (the parallel fill's side connections, the chunked stale cleanup).
- **Exactness.** Counts are exact, not estimates: ``count`` and a page's total are the
  members the generation holds, whatever form it is stored in, and real-time updates and
  removals keep them so in the transaction that moves a member.
- **The complement form.** A generation that holds most of its list may be stored as the
  list members it leaves out, up to a horizon (``membership.complement``). That is an
  implementation's storage choice: every reader here answers members, in either form.
"""

from __future__ import annotations

from collections.abc import Collection, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import timezone
from typing import Protocol

from sqlalchemy.engine import Connection
from sqlalchemy.sql import ColumnElement

from ..domain.conditions import Condition
from ..domain.member_changes import MembersChanged
from ..storage.condition_sql.segment_sql import PublishedMembership
from ..storage.db import Database
from ..storage.segments import Segment
from ..storage.sites import Site


class GenerationKey(Protocol):
    """One generation of one segment (the build job's claim is one)."""

    @property
    def tenant_id(self) -> int: ...
    @property
    def segment_id(self) -> str: ...
    @property
    def segment_number(self) -> int: ...
    @property
    def generation(self) -> int: ...


class FillPlan(Protocol):
    """What a fill needs of a build: the list it scans, the condition, and whether the
    generation is stored as its complement (chosen before the first range is filled)."""

    @property
    def list_id(self) -> int: ...
    @property
    def condition(self) -> Condition: ...
    @property
    def complement(self) -> bool: ...


class MemberAnswer(Protocol):
    """The members a condition holds for, selected elsewhere (the analytics back-end), asked
    one range at a time: a build holds one chunk's ids, never the tenant's."""

    def ids_in(self, lo: int, hi: int) -> frozenset[int]:
        """The selected member ids in (lo, hi]; the same answer when asked again for a range
        the source has not changed."""
        ...


class AnsweredPlan(FillPlan, Protocol):
    """A fill plan whose members are selected elsewhere: a fill writes what ``answer`` gives
    for its range (None: it evaluates the condition itself, as for any ``FillPlan``)."""

    @property
    def answer(self) -> MemberAnswer | None: ...


def answer_of(plan: FillPlan) -> MemberAnswer | None:
    """The answer an ``AnsweredPlan`` carries; None for a plain ``FillPlan``."""
    answer: MemberAnswer | None = getattr(plan, "answer", None)
    return answer


class RefreshTarget(GenerationKey, Protocol):
    """A segment's published generation, and its condition as read for the day refreshed to."""

    @property
    def condition(self) -> Condition: ...


class RangeAnswers(Protocol):
    """The daily refresh's answers for one member range, selected elsewhere (the analytics
    back-end): for each target, the range's members its condition holds for; and the
    members the source could not answer for (its copy may be older than the system of
    record for them), whose conditions the refresh evaluates itself."""

    @property
    def selected(self) -> Mapping[str, frozenset[int]]: ...
    @property
    def unsure(self) -> frozenset[int]: ...


@dataclass(frozen=True)
class Rebuilt:
    """What a rebuild in place (``MembershipStore.apply_difference``) left of the members it
    was given: those the published generation holds now, those it does not (members no
    longer in the list among them), and how many memberships moved."""

    holding: frozenset[int]
    without: frozenset[int]
    moved: int


# (generation, plan, lo, hi, excluding): fill the member ids (lo, hi]; ``excluding``: the
# segment has members removed by hand to leave out.
FillRange = tuple[GenerationKey, FillPlan, int, int, bool]
Ranges = Sequence[tuple[int, int, int]]  # (lo, hi, member count) of consecutive ranges


class LookupReader(Protocol):
    """The Commanders Act look-up's reads: the published segments of a site's visitors."""

    async def segment_ids(self, site: Site, tcid: str) -> list[str]:
        """The Commanders Act ids of the segments whose published generation holds the
        site's visitor ``tcid`` (look-ups arriving together are read together)."""
        ...

    def read(self, site: Site, tcids: Sequence[str]) -> dict[str, list[str]]:
        """{tcid: sorted segment ids} for a few visitors of ``site``, read at once."""
        ...

    def close(self) -> None: ...


class MembershipStore(Protocol):
    """Fill, publish, apply real-time changes, read, page, count and remove."""

    # --- builds ------------------------------------------------------------------------------

    def has_exclusions(self, conn: Connection, key: GenerationKey) -> bool:
        """Whether the segment has members removed by hand (a fill must then test each one)."""
        ...

    def fill(
        self,
        db: Database,
        conn: Connection,
        fills: Sequence[FillRange],
        workers: int,
        ahead: Sequence[FillRange] = (),
    ) -> bool:
        """Replace the rows of each range of its generation by the members matching now.

        Each fill is safe to repeat (running a range twice gives the same rows). ``conn``
        holds the build's locks; with ``workers`` > 1 an implementation may fill ranges side
        by side on connections of its own, all committed when this returns. True when the
        counts of the buckets wholly inside each range are done (``count_filled`` then
        counts only the ones at the ends). ``ahead``: the ranges the next step will fill if
        nothing changes meanwhile; an implementation may start on them (this step must
        publish nothing)."""
        ...

    def count_filled(
        self,
        conn: Connection,
        key: GenerationKey,
        plan: FillPlan,
        ranges: Ranges,
        inside_counted: bool,
    ) -> None:
        """Make the counts of the filled consecutive ``ranges`` exact, in ``conn``."""
        ...

    def publish(self, conn: Connection, key: GenerationKey, horizon: int) -> int:
        """Swap ``key``'s generation in (the caller holds the segment's lock and the lease)
        and mark the segment complete; return its member count. Readers switch from the
        previous generation to this one when ``conn`` commits; the previous one is stale.
        ``horizon``: the generation is a complement up to it (0: plain)."""
        ...

    def discard(self, conn: Connection, key: GenerationKey) -> None:
        """Delete a generation that can never publish (its segment is gone)."""
        ...

    def drop_stale(self, db: Database, tenant_id: int, segment_id: str, chunk: int) -> int:
        """Delete a segment's stale generations, ``chunk`` rows per transaction; how many."""
        ...

    def sweep_stale(self, db: Database, chunk: int) -> int:
        """``drop_stale`` for every segment that has stale rows (an interrupted cleanup)."""
        ...

    # --- the daily refresh -------------------------------------------------------------------

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
        """Bring the published generations of ``targets`` (segments of list ``list_id``) up
        to date for the list's members with ids in ``ids`` = (lo, hi], each by its condition
        as the caller read it, in one pass over those members for all of them, and the
        segments referring to them for the members that moved; return how many memberships
        of the targets changed. In place and in ``conn``: only the rows that must change
        are written, counts stay exact, readers see the range move at the commit. The caller
        holds the segments' row locks. Safe to repeat; a target whose generation is no longer
        the published one is left alone. With ``answers`` (every target's segment in
        ``answers.selected``), the members each condition holds for are taken from them,
        but for ``answers.unsure``; the rows written, the history and the counts are those
        of the refresh without them."""
        ...

    def apply_difference(
        self,
        conn: Connection,
        key: GenerationKey,
        list_id: int,
        horizon: int,
        condition: Condition,
        named: tuple[Collection[int], Collection[int], Collection[int]],
    ) -> Rebuilt:
        """Rebuild the published generation ``key`` (its horizon ``horizon``) in place:
        ``named`` = (entered, left, unsure) members, selected elsewhere against a copy of
        it; it holds the entered ones and not the left ones after this, and each unsure one
        as ``condition`` answers here (removed members stay out either way). Only the
        members that really move are written, with their counts and history (cause
        "build"), in ``conn``. The caller holds the segment's lock."""
        ...

    def rebuild_in_place(
        self,
        conn: Connection,
        key: GenerationKey,
        list_id: int,
        horizon: int,
        condition: Condition,
        limit: int,
    ) -> Rebuilt | None:
        """Rebuild the published generation ``key`` (its horizon ``horizon``) in place, its
        difference found here: afterwards it holds the list's members ``condition`` selects
        (less those removed by hand), as a new generation would, in the form it has. Only
        the members that move are written, with their counts and history (cause "build"),
        in ``conn``. None, with nothing written, when more than ``limit`` members would
        move. The caller holds the segment's lock."""
        ...

    # --- real-time ---------------------------------------------------------------------------

    def apply_changes(
        self, conn: Connection, tenant_id: int, changed: MembersChanged, tz: timezone
    ) -> None:
        """Bring every live generation (the published one, and the ranges a running build
        has passed) up to date with the members ``changed``, in the writer's transaction."""
        ...

    def drop_members(self, conn: Connection, tenant_id: int, member_ids: Sequence[int]) -> None:
        """Take members out of every live generation: call before deleting them."""
        ...

    # --- reads and removals ------------------------------------------------------------------

    def member_segments(self, db: Database) -> LookupReader:
        """A reader of one member's segments, for the look-up (it keeps its connections)."""
        ...

    def page(
        self,
        conn: Connection,
        segment: Segment,
        *,
        where: ColumnElement[bool] | None = None,
        offset: int = 0,
        limit: int = 10,
    ) -> tuple[list[int], int]:
        """Ids of one page of the published members (by id) satisfying ``where`` (a boolean
        over ``members``), and how many satisfy it. Run in a snapshot with ``segment`` read
        in it."""
        ...

    def member_ids(self, conn: Connection, segment: Segment, batch: int) -> Iterator[list[int]]:
        """The published members in id order, ``batch`` at a time (run in a snapshot)."""
        ...

    def count(self, conn: Connection, key: GenerationKey) -> int:
        """How many members the generation holds (exact)."""
        ...

    def holds_member(self, conn: Connection, segment: Segment, member_id: int) -> bool:
        """Whether the segment's published membership holds the member now."""
        ...

    def segments_holding(
        self, conn: Connection, tenant_id: int, list_id: int, member_id: int
    ) -> list[str]:
        """The ids of the list's segments whose published membership holds the member now
        (one member's segments, by its id rather than a visitor's)."""
        ...

    def remove(
        self, conn: Connection, tenant_id: int, segment_id: str, member_ids: Sequence[int]
    ) -> int | None:
        """Take members out of a segment for good (later builds leave them out too); how
        many left the published membership, None without such a segment."""
        ...

    # --- segments of segments and static segments ----------------------------------------

    def published_sql(self, conn: Connection, tenant_id: int) -> PublishedMembership:
        """What a condition testing segment membership compiles with
        (``storage.compiler.compile_condition``): the referenced segments' published
        generations as ``conn`` reads them."""
        ...

    def refresh_referrers(
        self,
        conn: Connection,
        tenant_id: int,
        segment_id: str,
        member_ids: Sequence[int],
        tz: timezone,
    ) -> None:
        """Bring the segments referring to ``segment_id`` (directly or through others) up to
        date for members that joined or left it otherwise than by a change to them: given to
        a static segment, or removed by hand."""
        ...

    def add_given(self, conn: Connection, segment: Segment, member_ids: Sequence[int]) -> int:
        """Put members of its list into a static segment; how many were not in it. The
        caller holds the segment's row lock and checked the list."""
        ...

    def remove_given(self, conn: Connection, segment: Segment, member_ids: Sequence[int]) -> int:
        """Take members out of a static segment; how many were in it."""
        ...

    def delete_segment(self, conn: Connection, segment: Segment) -> None:
        """Before deleting ``segment`` (its row): record every member of its published
        membership leaving it (cause "deleted"), and delete its rows and counts, in the
        caller's transaction."""
        ...
