"""The daily refresh of one range of a list's members, for many segments in one pass.

A time-dependent segment's published generation is brought up to date in place, range by
range: one scan of the members in (lo, hi] evaluates every segment's condition (compiled
together into one statement, its answers kept in a temporary table, a column per segment),
then each segment compares those answers with its rows in the range and writes only the
rows that must change, with their bucket counts and ``member_total``
(``generation_rows.apply_changes``), in the caller's transaction. A range refreshed twice
changes nothing the second time.

Comparing with the rows costs a walk of the rows the generation keeps in the range (merged
with the answers, both in id order); writing costs only the members whose answer changed,
usually few.

The answers may come from elsewhere (``RangeAnswers``: the analytics back-end selected each
segment's members of the range): they are written to a second temporary table, a row per
segment and member selected, and the scan reads them there instead of evaluating the
conditions, but for the members the source was unsure of, which it evaluates as above. The
comparison and the writes are the same.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from ..storage.compiler import compile_condition
from ..storage.id_lists import id_rows
from ..storage.schema import members, segment_exclusions, segment_members, segments
from .complement import row_of
from .generation_rows import Changes, apply_changes
from .interface import RangeAnswers, RefreshTarget
from .references import PublishedReader

# Segments evaluated by one scan (columns of one temporary table); more scan again.
MAX_COLUMNS = 400
_WANTED = "refresh_wanted"
_GIVEN = "refresh_given"
_UNSURE = -1  # the slot of the given table holding the members to evaluate here


def refresh_range(
    conn: Connection,
    tenant_id: int,
    list_id: int,
    lo: int,
    hi: int,
    targets: Sequence[RefreshTarget],
    answers: RangeAnswers | None = None,
) -> dict[str, set[int]]:
    """Make the published generations of ``targets`` hold exactly the list's members in
    (lo, hi] that their conditions select (less those removed by hand); {segment id: the
    members that joined or left it}. A target whose generation is no longer the published
    one is left alone. ``answers``: the members each condition selects, given (but for
    ``answers.unsure``)."""
    horizons = _published(conn, tenant_id, targets)
    live = [t for t in targets if t.segment_id in horizons]
    if not live:
        return {}
    reader = PublishedReader(conn, tenant_id)
    excluding = _excluding(conn, tenant_id, [t.segment_id for t in live], lo, hi)
    changes = Changes()
    given = None if answers is None else _given(conn, live, answers, lo, hi)
    for start in range(0, len(live), MAX_COLUMNS):
        group = live[start : start + MAX_COLUMNS]
        scan = _Scan(tenant_id, list_id, lo, hi, excluding, reader)
        wanted = scan.run(conn, group, start, given)
        for index, target in enumerate(group):
            _diff(
                conn,
                target,
                wanted,
                wanted.c[f"s{index}"],
                horizons[target.segment_id],
                (lo, hi),
                changes,
            )
        wanted.drop(conn)
    if given is not None:
        given.drop(conn)
    published = {t.segment_id: t.generation for t in live}
    numbers = {t.segment_id: t.segment_number for t in live}
    apply_changes(conn, tenant_id, changes, published, numbers, "refresh")
    moved: dict[str, set[int]] = {}
    for segment_id, _, member_id in (*changes.joined, *changes.left):
        moved.setdefault(segment_id, set()).add(member_id)
    return moved


def _published(
    conn: Connection, tenant_id: int, targets: Sequence[RefreshTarget]
) -> dict[str, int]:
    """{segment id: horizon} of the targets whose generation is the published one."""
    s = segments.c
    rows = conn.execute(
        sa.select(s.id, s.generation, s.horizon).where(
            s.tenant_id == tenant_id, s.id.in_(sorted({t.segment_id for t in targets}))
        )
    )
    generations = {t.segment_id: t.generation for t in targets}
    return {row.id: int(row.horizon) for row in rows if row.generation == generations[row.id]}


def _excluding(
    conn: Connection, tenant_id: int, segment_ids: list[str], lo: int, hi: int
) -> set[str]:
    """The segments with members removed by hand in the range (their answers test for it)."""
    ex = segment_exclusions.c
    rows = conn.execute(
        sa.select(ex.segment_id)
        .where(
            ex.tenant_id == tenant_id,
            ex.segment_id.in_(sorted(segment_ids)),
            ex.member_id > lo,
            ex.member_id <= hi,
        )
        .distinct()
    )
    return set(rows.scalars())


def _member_key() -> sa.Column[int]:
    """The member id key of the refresh's temporary tables."""
    return sa.Column(
        "member_id",
        sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
        primary_key=True,
        autoincrement=False,
    )


def _given(
    conn: Connection, live: Sequence[RefreshTarget], answers: RangeAnswers, lo: int, hi: int
) -> sa.Table:
    """A temporary table of the given answers: (slot, member) for each target's selected
    members of the range (slot: its index in ``live``), and (``_UNSURE``, member) for the
    members to evaluate here."""
    given = sa.Table(
        _GIVEN,
        sa.MetaData(),
        sa.Column("slot", sa.Integer, primary_key=True, autoincrement=False),
        _member_key(),
        prefixes=["TEMPORARY"],
    )
    given.create(conn)
    slots = [(_UNSURE, answers.unsure)]
    slots += [(i, answers.selected[t.segment_id]) for i, t in enumerate(live)]
    for slot, ids in slots:
        in_range = [m for m in ids if lo < m <= hi]
        if in_range:
            chosen = id_rows(conn.dialect.name, in_range, "ids").subquery("chosen")
            rows = sa.select(sa.literal(slot, sa.Integer), chosen.c.id)
            conn.execute(sa.insert(given).from_select(["slot", "member_id"], rows))
    if conn.dialect.name == "postgresql":
        conn.exec_driver_sql(f"ANALYZE {_GIVEN}")
    return given


class _Scan:
    """One scan of the range (lo, hi]: a temporary table of the list's members in it, with 1
    or 0 per segment (column ``s<i>``) for whether the segment should hold the member."""

    def __init__(
        self,
        tenant_id: int,
        list_id: int,
        lo: int,
        hi: int,
        excluding: set[str],
        reader: PublishedReader,
    ) -> None:
        self.tenant_id, self.list_id, self.lo, self.hi = tenant_id, list_id, lo, hi
        self.excluding, self.reader = excluding, reader

    def run(
        self,
        conn: Connection,
        group: Sequence[RefreshTarget],
        first: int,
        given: sa.Table | None,
    ) -> sa.Table:
        """``first``: the slot of ``group[0]`` in ``given``, whose answers it reads when
        given (None: every condition is evaluated here)."""
        wanted = sa.Table(
            _WANTED,
            sa.MetaData(),
            _member_key(),
            *(sa.Column(f"s{i}", sa.SmallInteger, nullable=False) for i in range(len(group))),
            prefixes=["TEMPORARY"],
        )
        wanted.create(conn)
        m = members.c
        in_range = [
            m.tenant_id == self.tenant_id,
            m.list_id == self.list_id,
            m.id > self.lo,
            m.id <= self.hi,
        ]
        if given is None:
            self._insert(conn, wanted, self._evaluated(group), in_range)
        else:
            read = [_in_slot(given, first + i) for i in range(len(group))]
            unsure = _in_slot(given, _UNSURE)
            self._insert(conn, wanted, self._held(group, read), [*in_range, ~unsure])
            self._insert(conn, wanted, self._evaluated(group), [*in_range, unsure])
        if conn.dialect.name == "postgresql":
            conn.exec_driver_sql(f"ANALYZE {_WANTED}")  # a temporary table has no statistics
        return wanted

    def _evaluated(self, group: Sequence[RefreshTarget]) -> list[sa.ColumnElement[bool]]:
        ids = (self.lo, self.hi)
        tests = [
            compile_condition(t.condition, ids, t.tenant_id, segments=self.reader) for t in group
        ]
        return self._held(group, tests)

    def _held(
        self, group: Sequence[RefreshTarget], tests: Iterable[sa.ColumnElement[bool]]
    ) -> list[sa.ColumnElement[bool]]:
        """Each test, less the members removed by hand from its segment."""
        return [
            _kept(target, test) if target.segment_id in self.excluding else test
            for target, test in zip(group, tests, strict=True)
        ]

    @staticmethod
    def _insert(
        conn: Connection,
        wanted: sa.Table,
        tests: list[sa.ColumnElement[bool]],
        where: list[sa.ColumnElement[bool]],
    ) -> None:
        answers = [sa.case((test, 1), else_=0) for test in tests]
        scan = sa.select(members.c.id, *answers).where(*where)
        conn.execute(sa.insert(wanted).from_select([c.name for c in wanted.c], scan))


def _in_slot(given: sa.Table, slot: int) -> sa.ColumnElement[bool]:
    return sa.exists().where(given.c.slot == slot, given.c.member_id == members.c.id)


def _kept(target: RefreshTarget, test: sa.ColumnElement[bool]) -> sa.ColumnElement[bool]:
    ex = segment_exclusions.c
    removed = sa.exists().where(
        ex.tenant_id == members.c.tenant_id,
        ex.segment_id == target.segment_id,
        ex.member_id == members.c.id,
    )
    return sa.and_(test, ~removed)


def _diff(
    conn: Connection,
    target: RefreshTarget,
    wanted: sa.Table,
    answer: sa.Column[Any],
    horizon: int,
    ids: tuple[int, int],
    changes: Changes,
) -> None:
    """Add to ``changes`` the rows the target's generation lacks and those it must lose in
    the range. Below its horizon a generation's rows are the members it leaves out
    (``membership.complement``): there a row is due where the answer is 0."""
    lo, hi = ids
    member = wanted.c.member_id
    if horizon <= lo:
        row_due = answer == 1
    elif horizon >= hi:
        row_due = answer == 0
    else:
        row_due = sa.or_(
            sa.and_(member <= horizon, answer == 0), sa.and_(member > horizon, answer == 1)
        )
    sm = segment_members.c
    key = (target.tenant_id, target.segment_number, target.generation)
    in_range = [sm.member_id > lo, sm.member_id <= hi]
    if conn.dialect.name == "postgresql":
        lacking, surplus = _anti_joins(wanted, row_due, key, in_range)
    else:
        lacking, surplus = _merged(wanted, row_due, key, in_range)
    found = [(m, True) for m in conn.execute(lacking).scalars()]
    found += [(m, False) for m in conn.execute(surplus).scalars()]
    for member_id, add in found:
        row = (target.segment_id, target.generation, member_id)
        (changes.added if add else changes.removed).append(row)
        # A row above the horizon is a member; below it, a member left out.
        (changes.joined if (member_id > horizon) == bool(add) else changes.left).append(row)


Key = tuple[int, int, int]  # (tenant id, segment number, generation): the rows' key prefix
Query = sa.Select[Any] | sa.CompoundSelect


def _rows(key: Key, in_range: list[sa.ColumnElement[bool]]) -> sa.Select[Any]:
    sm = segment_members.c
    prefix = (sm.tenant_id == key[0], sm.segment_number == key[1], sm.generation == key[2])
    return sa.select(sm.member_id).where(*prefix, *in_range)


def _merged(
    wanted: sa.Table, row_due: sa.ColumnElement[bool], key: Key, in_range: list[Any]
) -> tuple[Query, Query]:
    """SQLite: the rows due less the rows there, and the other way round. Both sides come in
    id order, so SQLite merges them (``MERGE (EXCEPT)``) in one walk of each, where a test
    of each member's row would seek the key once per member (1.6 times the time)."""
    due, rows = sa.select(wanted.c.member_id).where(row_due), _rows(key, in_range)
    first: sa.ColumnElement[Any] = sa.literal_column("1")
    return due.except_(rows).order_by(first), rows.except_(due).order_by(first)


def _anti_joins(
    wanted: sa.Table, row_due: sa.ColumnElement[bool], key: Key, in_range: list[Any]
) -> tuple[Query, Query]:
    """PostgreSQL: the same as anti-joins, which it hashes or merges (a set operation would
    hash both sides whole)."""
    member = wanted.c.member_id
    lacking = sa.select(member).where(row_due, ~row_of(*key, member))
    sm = segment_members.c
    due_here = sa.exists().where(member == sm.member_id, row_due)
    return lacking, _rows(key, in_range).where(~due_here)
