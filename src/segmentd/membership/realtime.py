"""Real-time membership: keep segments current as members change, without a rebuild.

Called inside the writer's transaction after any member change. For each segment of the
members' lists it re-evaluates the changed members in memory and inserts or deletes their
``segment_members`` rows in the published generation (adjusting ``member_total``), and in
the generation a running build is filling for the members the build has already passed
(the worker treats ``cursor`` as "every member with id <= cursor is done"). The build
picks up everyone after the cursor itself.

The segments' definitions are read without a lock: every writer of them holds the tenant's
write lock, as the callers here do. Their rows are locked (ascending id, as the worker locks
them) only once some member must be written, and the generations and build cursors are read
after that lock, in a statement of their own: a build that held the lock has moved its
cursor by then, and a statement that waited for a lock still sees what it saw before.
A segment a change cannot move needs neither: whatever a build read of the member, before
or after this change, gives the same answer.

A segment whose condition refers to other segments reads their published membership as this
transaction leaves it: segments are evaluated in dependency order (one after those it refers
to), a referenced segment's new answer is what its referrers see, and a change that can move
a member in or out of a segment can move it in or out of every segment referring to it,
directly or through others. Members given to a static segment or removed by hand reach the
referrers through ``refresh_referrers``.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Collection, Iterator, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, date, timezone
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql
from sqlalchemy.engine import Connection

from .. import clock
from ..domain.answer_change import LeafInputs, leaf_inputs, may_answer_differently
from ..domain.condition_types.leaf_types import inputs
from ..domain.conditions import Condition, Inputs
from ..domain.contact import Contact
from ..domain.errors import DomainValidationError
from ..domain.evaluator import evaluate
from ..domain.fields import Catalog
from ..domain.member_changes import Change
from ..domain.segment_graph import dependency_order, referrers
from ..domain.segment_kinds import SegmentKind
from ..domain.stored_form import load_condition
from ..storage.catalog import load_catalog
from ..storage.contacts import load_contacts
from ..storage.lru import LRU
from ..storage.prepared import OPTION as PREPARED
from ..storage.schema import build_jobs, members, segments
from ..storage.sqlite_plans import members_by_id
from .complement import holds
from .generation_rows import ACTIVE_JOB_STATES, Changes, Current, Row, apply_changes, read_current

log = logging.getLogger("segmentd.realtime")

FAILED = -1
CHUNK = 500  # members per round of queries: keeps IN lists well under driver limits
_CACHE_SIZE = 1024


@dataclass
class Target:
    """One segment to keep current, with the generations that must hear about changes."""

    id: str
    list_id: int
    published: int
    segment_type: int
    text: str  # the stored condition
    condition: Condition | None = None
    # What the condition reads, itself and through the segments it refers to (None: it must
    # always be run); ``own``: what it reads itself, its references by segment id.
    inputs: Inputs | None = None
    own: Inputs | None = None
    leaves: LeafInputs = ()  # the condition's leaves with what each reads
    builds: list[tuple[int, int]] = field(default_factory=list)  # (generation, cursor)

    @property
    def refs(self) -> frozenset[str]:
        """The segments whose membership the condition reads."""
        return self.own.segments if self.own is not None else frozenset()

    def follows(self, member_id: int, changes: Mapping[int, Change] | None) -> bool:
        """Whether a change to the member can move it in or out of this segment."""
        if changes is None or self.inputs is None or member_id not in changes:
            return True
        return changes[member_id].touched.overlaps(self.inputs)

    def may_move(self, change: Change | None, moved_refs: Collection[str]) -> bool:
        """Whether the member's answer may differ from the one before the change, from its
        fields alone (``moved`` decides, with the member read, for those that may)."""
        if change is None or change.values_before is None or change.values_after is None:
            return True
        if self.condition is None or self.own is None:
            return True
        if not self.own.segments.isdisjoint(moved_refs):
            return True
        before, after = Contact(change.values_before), Contact(change.values_after)
        return may_answer_differently(self.leaves, change.touched, before, after)

    def moved(self, change: Change | None, now: Contact, moved_refs: Collection[str]) -> bool:
        """Whether the member's answer may differ from the one before the change;
        ``moved_refs``: the segments the member may have moved in or out of so far."""
        if change is None or change.values_before is None:
            return True
        if self.condition is None or self.own is None:
            return True
        reads, touched = self.own, change.touched
        if reads.segments:
            # The answer reads segments whose membership is known only once written: it
            # may move with them, or with what the condition reads itself.
            return not reads.segments.isdisjoint(moved_refs) or reads.overlaps(touched)
        if (reads.tags and touched.tags) or (reads.campaigns and touched.campaigns):
            return True  # only the fields before are known
        then = replace(now, values=change.values_before)
        return evaluate(self.condition, then) != evaluate(self.condition, now)

    def generations(self, member_id: int | None = None) -> set[int]:
        """The generations that must hear about ``member_id`` (any member: all of them)."""
        found = {self.published} if self.published > 0 else set()
        found.update(gen for gen, cursor in self.builds if member_id is None or cursor >= member_id)
        return found


def refresh_memberships(
    conn: Connection,
    tenant_id: int,
    member_ids: Sequence[int],
    tz: timezone,
    catalog: Catalog | None = None,
    list_id: int | None = None,
    changes: Mapping[int, Change] | None = None,
    created: Collection[int] = (),
) -> None:
    """Re-evaluate ``member_ids`` against every live segment of their lists.

    ``catalog``: the tenant's, if the caller has it as of this transaction; ``list_id``: the
    one list of all the members, if the caller knows it; ``changes``: what the caller knows
    of its change to some of the members. Every change before came through here, so a
    member's rows agree with the member as it was: a segment whose condition reads nothing
    the change touched, or whose answer for the member's values before is the same as now,
    is left alone, without reading its rows (on a cold cache those reads are the slow part).
    Members not in ``changes`` face every segment. ``created``:
    the members this transaction inserted, which no count holds yet.
    """
    ids = sorted(set(member_ids))
    _apply(
        conn, tenant_id, ids, tz, keep=True, catalog=catalog, list_id=list_id, changes=changes,
        created=frozenset(created), cause="realtime",
    )  # fmt: skip


def drop_memberships(conn: Connection, tenant_id: int, member_ids: Sequence[int]) -> None:
    """Take ``member_ids`` out of every segment. Call before deleting the members."""
    _apply(conn, tenant_id, sorted(set(member_ids)), UTC, keep=False, cause="member_deleted")


def refresh_referrers(
    conn: Connection, tenant_id: int, segment_id: str, member_ids: Sequence[int], tz: timezone
) -> None:
    """Re-evaluate the segments referring to ``segment_id`` (directly or through others) for
    ``member_ids``, which joined or left its published generation otherwise than by a change
    to them: given to a static segment, or removed by hand."""
    catalog = load_catalog(conn, tenant_id)
    if not referrers(catalog.segments, segment_id):
        return
    touched = Change(Inputs(segments=frozenset({segment_id})))
    ids = sorted(set(member_ids))
    changes = dict.fromkeys(ids, touched)
    _apply(conn, tenant_id, ids, tz, keep=True, catalog=catalog, changes=changes, cause="reference")


def _chunks(ids: list[int]) -> Iterator[list[int]]:
    for start in range(0, len(ids), CHUNK):
        yield ids[start : start + CHUNK]


def _apply(
    conn: Connection,
    tenant_id: int,
    ids: list[int],
    tz: timezone,
    keep: bool,
    catalog: Catalog | None = None,
    list_id: int | None = None,
    changes: Mapping[int, Change] | None = None,
    created: frozenset[int] = frozenset(),
    *,
    cause: str,
) -> None:
    """``cause``: what the history says moved the members (``storage.change_log.CAUSES``)."""
    if not ids:
        return
    if list_id is None:
        member_lists = _member_lists(conn, tenant_id, ids)
    else:
        member_lists = dict.fromkeys(ids, list_id)
    lists = tuple(sorted(set(member_lists.values())))
    if keep:
        catalog = catalog or load_catalog(conn, tenant_id)
        parsed = _cache.conditions(catalog, tz, clock.today(tz))
        targets = parsed.targets(conn, tenant_id, lists)
    else:
        catalog, targets = Catalog.build(), _targets(conn, tenant_id, lists, keep)
    if not targets:
        return
    locked = False
    live = [t for t in targets if t.condition is not None or not keep]
    chunks = list(_chunks([i for i in ids if i in member_lists]))
    for chunk in chunks:
        work = _keep([(t, [m for m in chunk if t.follows(m, changes)]) for t in live])
        if changes is not None:
            work = _may_move(work, changes)
        if not work:
            continue
        contacts = _contacts(conn, tenant_id, catalog, work, changes) if keep else {}
        if changes is not None:
            work = _moved(work, contacts, changes)
        if not work:
            continue
        if not locked:
            # One lock statement per call, in ascending id as the worker takes them (no
            # deadlock): with one chunk, only the segments it writes (each lock is a write);
            # with more, every segment, as later chunks may need any.
            _lock(conn, tenant_id, [t for t, _ in work] if len(chunks) == 1 else targets)
            locked = True
        _sync_chunk(conn, tenant_id, member_lists, contacts, work, keep, created, cause)


Work = list[tuple[Target, list[int]]]  # each segment with the members it must re-evaluate


def _keep(work: Work) -> Work:
    return [(target, chunk) for target, chunk in work if chunk]


def _may_move(work: Work, changes: Mapping[int, Change]) -> Work:
    """``work`` without the members whose answer their change of fields cannot move: nothing
    of them (tags, activity, rows) is read for those (``work`` in dependency order)."""
    moved: dict[int, set[str]] = {}
    kept: Work = []
    for target, chunk in work:
        chosen = [m for m in chunk if target.may_move(changes.get(m), moved.get(m, ()))]
        for member_id in chosen:
            moved.setdefault(member_id, set()).add(target.id)
        kept.append((target, chosen))
    return _keep(kept)


def _moved(work: Work, contacts: dict[int, Contact], changes: Mapping[int, Change]) -> Work:
    """``work`` without the members whose answer is the same as before their change (``work``
    in dependency order: whether a referenced segment may have moved is known first)."""
    moved: dict[int, set[str]] = {}
    kept: Work = []
    for target, chunk in work:
        chosen = [
            m
            for m in chunk
            if m not in contacts or target.moved(changes.get(m), contacts[m], moved.get(m, ()))
        ]
        for member_id in chosen:
            moved.setdefault(member_id, set()).add(target.id)
        kept.append((target, chosen))
    return _keep(kept)


def _contacts(
    conn: Connection,
    tenant_id: int,
    catalog: Catalog,
    work: Work,
    changes: Mapping[int, Change] | None,
) -> dict[int, Contact]:
    """The members of ``work``, with tags or activity only if a condition there tests them."""
    known = {
        m: change.values_after
        for m, change in (changes or {}).items()
        if change.values_after is not None
    }
    reads = [t.inputs for t, _ in work if t.condition is not None and t.inputs is not None]
    return load_contacts(
        conn,
        tenant_id,
        sorted({m for _, followed in work for m in followed}),
        catalog,
        with_tags=any(r.tags for r in reads),
        with_activity=any(r.campaigns for r in reads),
        known=known,
    )


# Statements built once, with expanding parameters: a member change runs each of
# them, and building a statement costs more than running it.
_IDS: sa.BindParameter[Any] = sa.bindparam("ids", expanding=True)
_TENANT: sa.BindParameter[Any] = sa.bindparam("tenant_id")
_MEMBER_LISTS = sa.select(members.c.id, members.c.list_id).where(members_by_id(_TENANT, _IDS))
# A segment's row once per build of it in progress (or once, with NULLs, when there is none):
# one round trip for both.
_ACTIVE_BUILDS = sa.and_(
    build_jobs.c.tenant_id == segments.c.tenant_id,
    build_jobs.c.segment_id == segments.c.id,
    build_jobs.c.state.in_(ACTIVE_JOB_STATES),
)
# PostgreSQL only (``_lock``): the statements after the lock (the rows' read and write, the
# history) are prepared ones whose arrays the planner cannot size, so it planned each call
# afresh (custom plans), which cost more than running them. From the lock on, the
# transaction uses their generic plans: every one of them seeks primary keys.
_GENERIC_PLANS = sa.func.set_config("plan_cache_mode", "force_generic_plan", sa.true())
# The ids as one array parameter: one text whatever their number, prepared once.
_SEGMENT_IDS = sa.bindparam("ids", type_=postgresql.ARRAY(segments.c.id.type))
_LOCK = (
    sa.select(segments.c.id, _GENERIC_PLANS)
    .where(segments.c.tenant_id == _TENANT, segments.c.id == sa.any_(_SEGMENT_IDS))
    .order_by(segments.c.id)
    .with_for_update(of=segments)
    .execution_options(**PREPARED)
)
_TARGETS = (
    sa.select(
        segments.c.id,
        segments.c.list_id,
        segments.c.generation,
        segments.c.segment_type,
        segments.c.condition,
        segments.c.status,
        segments.c.kind,
        build_jobs.c.generation.label("build_generation"),
        build_jobs.c.cursor,
    )
    .select_from(segments.outerjoin(build_jobs, _ACTIVE_BUILDS))
    .where(segments.c.tenant_id == _TENANT, segments.c.list_id.in_(_IDS))
    .order_by(segments.c.id)
)


def _member_lists(conn: Connection, tenant_id: int, ids: list[int]) -> dict[int, int]:
    found: dict[int, int] = {}
    for chunk in _chunks(ids):
        rows = conn.execute(_MEMBER_LISTS, {"tenant_id": tenant_id, "ids": chunk})
        found.update({row.id: row.list_id for row in rows})
    return found


def _targets(conn: Connection, tenant_id: int, list_ids: Sequence[int], keep: bool) -> list[Target]:
    """The lists' live segments with their builds, unlocked (``_lock`` before writing)."""
    targets: dict[str, Target] = {}
    for row in conn.execute(_TARGETS, {"tenant_id": tenant_id, "ids": list(list_ids)}):
        # a failed segment is left alone, a static one's members are given; a deleted
        # member leaves every segment
        if keep and (row.status == FAILED or row.kind == SegmentKind.STATIC):
            continue
        target = targets.get(row.id)
        if target is None:
            target = Target(row.id, row.list_id, row.generation, row.segment_type, row.condition)
            targets[row.id] = target
        if row.build_generation is not None:
            target.builds.append((row.build_generation, row.cursor))
    return [t for t in targets.values() if t.published > 0 or t.builds]


def _lock(conn: Connection, tenant_id: int, targets: list[Target]) -> None:
    """Lock the targets' rows: builds wait, and ``read_current`` after it sees where they
    stopped. SQLite runs one writer at a time: nothing to lock."""
    if conn.dialect.name == "postgresql":
        params = {"tenant_id": tenant_id, "ids": sorted(target.id for target in targets)}
        conn.execute(_LOCK, params).all()


def _refreshed(target: Target, current: Current, keep: bool) -> Target:
    """A copy of the target with its generations as ``current`` read them under the lock; a
    segment gone meanwhile, or whose build failed since, has none left to write."""
    generation, status = current.published.get(target.id, (0, 0))
    if keep and status == FAILED:
        return replace(target, published=0, builds=[])
    return replace(target, published=generation, builds=current.builds.get(target.id, []))


# A condition, what it reads, and its leaves with what each reads.
Parse = tuple[Condition | None, Inputs | None, LeafInputs]


class _Parsed:
    """Parsed conditions for one catalog, zone and day, by segment and condition text, and the
    lists' live segments with them.

    A catalog object names one state of the tenant's segment definitions too: every writer
    of them moves the catalog version (``catalog.catalog_changed``). Builds change a
    segment's generation, builds and status without it: ``read_current`` reads those afresh,
    under the lock, before anything is written, and the segments a change cannot move need
    none of them.
    """

    def __init__(self, catalog: Catalog, tz: timezone, today: date) -> None:
        self.catalog, self.tz, self.today = catalog, tz, today
        self._items: dict[tuple[str, int, str], Parse] = {}
        self._targets: dict[tuple[int, tuple[int, ...]], list[Target]] = {}
        self._lock = threading.Lock()

    def targets(self, conn: Connection, tenant_id: int, list_ids: tuple[int, ...]) -> list[Target]:
        """The lists' live segments, parsed: shared, never changed (a call writes with the
        copies ``_refreshed`` makes of the few it writes)."""
        key = (tenant_id, list_ids)
        with self._lock:
            found = self._targets.get(key)
        if found is None:
            found = self._parsed(_targets(conn, tenant_id, list_ids, keep=True))
            with self._lock:
                if len(self._targets) >= _CACHE_SIZE:
                    self._targets.clear()
                self._targets[key] = found
        return list(found)

    def _parsed(self, found: list[Target]) -> list[Target]:
        """The targets parsed, in dependency order, each with what it reads through the
        segments it refers to."""
        by_id = {target.id: target for target in found}
        ordered = [by_id[i] for i in dependency_order(by_id, self.catalog.segments)]
        for target in ordered:
            target.condition, target.own, target.leaves = self.get(target)
            target.inputs = target.own
            for ref in sorted(target.refs):
                # A reference that is not kept current here (static, failed, unreadable)
                # moves only by hand (``refresh_referrers``) or by its builds.
                live = by_id.get(ref)
                reached = live.inputs if live is not None and live.condition else Inputs()
                if target.inputs is not None:
                    target.inputs = None if reached is None else target.inputs | reached
        return ordered

    def get(self, target: Target) -> Parse:
        key = (target.id, target.segment_type, target.text)
        with self._lock:
            if key in self._items:
                return self._items[key]
        condition = _parse(target.id, target.text, self.catalog, self.tz, self.today)
        if condition is None:
            found: Parse = (None, None, ())
        else:
            found = (condition, inputs(condition), leaf_inputs(condition))
        with self._lock:
            if len(self._items) >= _CACHE_SIZE:
                self._items.clear()  # edited conditions pile up; start over now and then
            self._items[key] = found
        return found


class _ConditionCache:
    """Parsed conditions by catalog, zone and day (LRU over those).

    ``load_catalog`` hands out one Catalog object per state of a
    tenant's catalog (``storage.catalog``), so that object names everything a parse reads: a
    rename or a new tag or campaign status comes as another object and parses anew. A
    relative date is read against the day it is (``clock.today``): the first change after a
    day boundary parses anew too.
    """

    def __init__(self, size: int) -> None:
        self._items: LRU[tuple[int, timezone, date], _Parsed] = LRU(size)

    def conditions(self, catalog: Catalog, tz: timezone, today: date) -> _Parsed:
        key = (id(catalog), tz, today)
        found = self._items.get(key)
        # The entry holds its catalog, so an id is never reused while it is here.
        if found is None or found.catalog is not catalog:
            found = _Parsed(catalog, tz, today)
            self._items.put(key, found)
        return found


_cache = _ConditionCache(64)


def _parse(
    segment_id: str, text: str, catalog: Catalog, tz: timezone, today: date
) -> Condition | None:
    try:
        return load_condition(text, catalog, tz, today=today)
    except DomainValidationError as exc:
        log.warning("segment %s: stored condition no longer parses (%s)", segment_id, exc)
        return None


def _sync_chunk(
    conn: Connection,
    tenant_id: int,
    member_lists: dict[int, int],
    contacts: dict[int, Contact],
    work: Work,
    keep: bool,
    created: frozenset[int],
    cause: str,
) -> None:
    """Evaluate each segment's members, then write what changed: a few statements for all
    the segments together."""
    followed = sorted({m for _, chunk in work for m in chunk})
    read = {target.id for target, _ in work} | {ref for target, _ in work for ref in target.refs}
    current = read_current(conn, tenant_id, followed, sorted(read))
    work = [(_refreshed(target, current, keep), chunk) for target, chunk in work]
    changes = Changes()
    inside: dict[tuple[str, int], bool] = {}  # (segment, member): as this call leaves it
    for target, chunk in work:  # in dependency order
        for member_id in chunk:
            listed = member_lists[member_id] == target.list_id
            contact = contacts.get(member_id)
            if contact is not None and target.refs:
                segments_in = _segments_of(target.refs, member_id, current, inside)
                contact = replace(contact, segments=segments_in)
            wanted = (
                listed
                and (target.id, member_id) not in current.excluded
                and contact is not None
                and target.condition is not None
                and evaluate(target.condition, contact)
            )
            if keep and target.published > 0:
                inside[(target.id, member_id)] = wanted
            for generation in target.generations(member_id):
                row = (target.id, generation, member_id)
                _sync_row(changes, current, row, listed, wanted, keep, member_id in created)
    published = {target.id: target.published for target, _ in work if target.published > 0}
    apply_changes(conn, tenant_id, changes, published, current.numbers, cause, current.names)


def _segments_of(
    refs: frozenset[str], member_id: int, current: Current, inside: dict[tuple[str, int], bool]
) -> frozenset[str]:
    """Which of ``refs`` hold the member in their published generation: as this call wrote
    it, or else as their rows say."""
    found = set()
    for ref in refs:
        held = inside.get((ref, member_id))
        if held is None:
            generation = current.published.get(ref, (0, 0))[0]
            present = (ref, generation, member_id) in current.rows
            held = generation > 0 and holds(present, member_id, current.horizon(ref, generation))
        if held:
            found.add(ref)
    return frozenset(found)


def _sync_row(
    changes: Changes,
    current: Current,
    row: Row,
    listed: bool,
    wanted: bool,
    keep: bool,
    fresh: bool = False,
) -> None:
    """Record what it takes for one generation to hold the member exactly when ``wanted``.

    A member being deleted (not ``keep``) leaves no row in any form: the counts of a
    complement take its list's members, which it leaves too (``membership.buckets``). A
    ``fresh`` member (inserted by this transaction) is in no count yet, even where a
    complement's rule holds it: one whose id was given out before a build passed it but
    committed after.
    """
    segment_id, generation, member_id = row
    present = row in current.rows
    horizon = current.horizon(segment_id, generation)
    held = listed and holds(present, member_id, horizon)
    counted = held and not fresh
    if counted and not wanted:
        changes.left.append(row)
    elif wanted and not counted:
        changes.joined.append(row)
    if not keep:
        if present:
            changes.removed.append(row)
    elif held != wanted:
        (changes.removed if present else changes.added).append(row)
