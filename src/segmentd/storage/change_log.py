"""Membership history as it is written: changes staged while a write transaction runs, and
numbered and stored as its last step.

The writers of membership stage what moved: ``stage`` a few (segment, member) changes known
in Python, or ``stage_query`` a set-based SELECT of ``(member_id, change)`` that runs at the
flush (a build's publish: the difference between two generations, never a row per member in
Python; a segment deleted: its members leaving, its rows deleted only after the query ran).
``flush``, called by ``Database.write`` just before COMMIT, runs the staged queries, takes
the tenant's counter row, inserts the changes with consecutive ``seq`` after it, and writes
today's size of each segment that changed (``segment_sizes``). A segment's first changes also
name it in ``history_segments`` (its number to its id and list), which outlives the segment.

Why changes are stored as blocks of member ids (``id_blocks``, ``schema.history_blocks``):
recording costs what the rows and their index entries write (docs/performance.md). A
publish's difference is packed by the database into one value, read once, and cut here into
blocks of sorted ids of one change: a few hundred rows for a hundred thousand changes. A
block's ids take consecutive seqs in id order; changes known in Python are grouped the same
way (a real-time update's one change is a block of one).

Why the counter comes last: its row lock is held from there to COMMIT, so the tenant's
writers of history commit in ``seq`` order (a reader keyed on ``seq > cursor`` never misses a
row that commits later with a lower one), and a transaction holding it waits for nothing else,
so it adds no lock-order hazard to the segment locks builds, refreshes and real-time updates
take. On SQLite one writer runs at a time anyway.

A transaction that rolls back drops what it staged (a ``rollback`` listener); one that would
commit with changes staged and not flushed fails instead (a ``commit`` listener): a change of
membership never commits without its history, nor history without its change.
"""

from __future__ import annotations

import bisect
import json
import operator
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy import event
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Connection, Engine

from ..timefmt import now
from . import history_at_once, id_blocks, transaction_info
from .id_blocks import Block
from .schema import change_counters, history_blocks, history_segments, segment_sizes, segments

ENTERED, LEFT = 1, 0
CHANGE_NAMES = {ENTERED: "entered", LEFT: "left"}
# Why a membership changed: a member's own change (and the segments referring to the ones it
# moved in); a build's publish; the daily refresh; a removal by hand; a static segment's
# members given or taken back; a member deleted; a referenced segment's members moved
# otherwise than by a change to them (given, removed by hand, refreshed); the segment deleted.
CAUSES = (
    "realtime", "build", "refresh", "removal", "static", "member_deleted", "reference", "deleted"
)  # fmt: skip
# The code each cause is stored as (migration 0019 maps the names the same way): append only.
CAUSE_CODES = {cause: code for code, cause in enumerate(CAUSES, start=1)}
CAUSE_NAMES = {code: cause for cause, code in CAUSE_CODES.items()}
_KEY = "segmentd.change_log"


@dataclass(frozen=True)
class SegmentName:
    """What the flush needs of a segment, when the stager read it in the transaction: its
    number, its list, and whether ``history_segments`` names it already."""

    number: int
    list_id: int
    named: bool


@dataclass(frozen=True)
class StagedQuery:
    """A segment's changes as a SELECT of ``member_id`` and ``change`` columns, each member
    once (run at the flush, in the writer's transaction). ``deleted``: the segment's
    (number, list id), given when the transaction deletes the segment (its changes are
    recorded all the same). ``merged``: it reads only ``segment_members``, its joins meant to
    merge both sides in key order (PostgreSQL then plans no hash join or table scan)."""

    segment_id: str
    cause: str
    query: sa.Select[Any] | sa.CompoundSelect
    deleted: tuple[int, int] | None = None
    merged: bool = False


@dataclass
class _Staged:
    # (segment id, member id): (change, cause), in the order staged; a change undone later
    # in the same transaction cancels out (nobody could have seen it).
    rows: dict[tuple[str, int], tuple[int, str]] = field(default_factory=dict)
    queries: list[StagedQuery] = field(default_factory=list)
    names: dict[str, SegmentName] = field(default_factory=dict)  # given with ``stage``
    # Run once the changes are stored: deleting what a staged query still had to read.
    after: list[Callable[[Connection], None]] = field(default_factory=list)

    def __bool__(self) -> bool:
        return bool(self.rows or self.queries or self.after)


def _staged(conn: Connection, tenant_id: int) -> _Staged:
    tenants: dict[int, _Staged] = conn.info.setdefault(_KEY, {})
    return tenants.setdefault(tenant_id, _Staged())


def stage(
    conn: Connection,
    tenant_id: int,
    changes: Iterable[tuple[str, int, int]],
    cause: str,
    names: Mapping[str, SegmentName] | None = None,
) -> None:
    """Stage (segment id, member id, ``ENTERED`` or ``LEFT``) changes of published memberships.
    ``names``: what the caller read of those segments in this transaction (the flush then
    reads nothing of them)."""
    staged = None
    for segment_id, member_id, change in changes:
        if staged is None:
            staged = _staged(conn, tenant_id)
            staged.names.update(names or {})
        key = (segment_id, member_id)
        before = staged.rows.get(key)
        if before is None:
            staged.rows[key] = (change, cause)
        elif before[0] != change:
            del staged.rows[key]


def stage_query(
    conn: Connection,
    tenant_id: int,
    staged: StagedQuery,
    then: Callable[[Connection], None] | None = None,
) -> None:
    """Stage a set-based difference (a build's publish, a segment deleted); ``then``: run in
    the transaction once the changes are stored (deleting the rows the query reads)."""
    found = _staged(conn, tenant_id)
    found.queries.append(staged)
    if then is not None:
        found.after.append(then)


def pending(conn: Connection) -> bool:
    """Whether the transaction has history staged and not yet stored."""
    return any(conn.info.get(_KEY, {}).values())


def flush(conn: Connection) -> None:
    """Store what the transaction staged: call as its last step, just before COMMIT."""
    tenants: dict[int, _Staged] = conn.info.pop(_KEY, {})
    for tenant_id, staged in sorted(tenants.items()):
        if staged:
            _store(conn, tenant_id, staged)


def discard(conn: Connection) -> None:
    transaction_info.forget(conn, _KEY)


def _store(conn: Connection, tenant_id: int, staged: _Staged) -> None:
    at = now()
    ids = sorted({s for s, _ in staged.rows} | {q.segment_id for q in staged.queries})
    numbers, unnamed = _segment_numbers(conn, tenant_id, ids, staged.queries, staged.names)
    stored = _known_blocks(staged.rows, numbers)
    for query in staged.queries:
        if query.segment_id in numbers:
            values = packed_difference(conn, query)
            stored += _difference_blocks(numbers[query.segment_id], query.cause, values)
    for action in staged.after:
        action(conn)
    if conn.dialect.name == "postgresql":
        names = [(n, i, li) for i, n, li in unnamed]
        day = datetime.fromtimestamp(at, UTC).date()
        history_at_once.store(conn, tenant_id, stored, names, ids, at, day)
        return
    _name(conn, tenant_id, unnamed)
    last = _take_counter(conn, tenant_id, sum(b.size for b in stored))
    _insert_blocks(conn, tenant_id, last, stored, at)
    _note_sizes(conn, tenant_id, ids, at)


def _known_blocks(
    rows: Mapping[tuple[str, int], tuple[int, str]], numbers: Mapping[str, int]
) -> list[Block]:
    """Changes known in Python as blocks: grouped by segment, change and cause (in the order
    first staged), each group's ids sorted."""
    groups: dict[tuple[int, int, int], list[int]] = {}
    for (segment_id, member_id), (change, cause) in rows.items():
        if segment_id in numbers:
            key = (numbers[segment_id], change, CAUSE_CODES[cause])
            groups.setdefault(key, []).append(member_id)
    return [
        block
        for (number, change, cause), members in groups.items()
        for block in id_blocks.blocks(number, change, cause, sorted(members))
    ]


def _difference_blocks(number: int, cause: str, values: list[int]) -> list[Block]:
    """A staged query's packed rows (``packed_difference``) as blocks, entering first."""
    code = CAUSE_CODES[cause]
    # One sort splits them: leavings are negative. A first publish's ids come nearly in order,
    # which the sort takes in one pass, cheaper than a filtered copy per change.
    values = sorted(values)
    first_entering = bisect.bisect_left(values, 0)
    entering = values[first_entering:]
    leaving = sorted(map(operator.invert, values[:first_entering]))
    return [
        *id_blocks.blocks(number, ENTERED, code, entering),
        *id_blocks.blocks(number, LEFT, code, leaving),
    ]


def _insert_blocks(
    conn: Connection, tenant_id: int, last: int, stored: list[Block], at: int
) -> None:
    """Insert blocks numbered after ``last``, in the order given."""
    rows = []
    for block in stored:
        last += block.size
        rows.append({"tenant_id": tenant_id, "last_seq": last, "at": at, **block._asdict()})
    if rows:
        conn.execute(sa.insert(history_blocks), rows)


def _segment_numbers(
    conn: Connection,
    tenant_id: int,
    ids: list[str],
    queries: list[StagedQuery],
    known: Mapping[str, SegmentName],
) -> tuple[dict[str, int], list[tuple[str, int, int]]]:
    """{segment id: number} of the segments still there and of those the transaction deletes
    (a deleted one records nothing but what was staged with its number: its members leaving),
    and those of them ``history_segments`` does not name yet: (id, number, list id).
    ``known``: segments the stager read (no statement for those)."""
    numbers = {i: known[i].number for i in ids if i in known}
    unnamed = [(i, known[i].number, known[i].list_id) for i in numbers if not known[i].named]
    unread = [i for i in ids if i not in known]
    if unread:
        s, hs = segments.c, history_segments.c
        named = sa.and_(hs.tenant_id == s.tenant_id, hs.segment_number == s.number)
        found = conn.execute(
            sa.select(s.id, s.number, s.list_id, hs.segment_number.label("named"))
            .select_from(segments.outerjoin(history_segments, named))
            .where(s.tenant_id == tenant_id, s.id.in_(unread))
        ).all()
        numbers.update({row.id: int(row.number) for row in found})
        unnamed += [(r.id, int(r.number), int(r.list_id)) for r in found if r.named is None]
    for query in queries:
        if query.deleted is not None:
            number, list_id = query.deleted
            numbers[query.segment_id] = number
            unnamed.append((query.segment_id, number, list_id))
    return numbers, list(dict.fromkeys(unnamed))


def _name(conn: Connection, tenant_id: int, unnamed: list[tuple[str, int, int]]) -> None:
    """Name segments in ``history_segments`` (a statement only for a segment's first changes)."""
    if unnamed:
        values = [
            {"tenant_id": tenant_id, "segment_number": n, "segment_id": i, "list_id": li}
            for i, n, li in unnamed
        ]
        insert = _dialect(conn).insert(history_segments).values(values)
        conn.execute(insert.on_conflict_do_nothing(index_elements=["tenant_id", "segment_number"]))


def _dialect(conn: Connection) -> Any:
    return postgresql if conn.dialect.name == "postgresql" else sqlite


def _take_counter(conn: Connection, tenant_id: int, taking: int = 0) -> int:
    """The tenant's last seq, its counter row locked (created at 0 the first time), and
    ``taking`` seqs after it given out (the counter moved past them)."""
    params = {"tenant_id": tenant_id, "taking": taking}
    return int(conn.execute(_TAKE_COUNTER[_dialect(conn)], params).scalar_one()) - taking


def _take_counter_statement(dialect: Any) -> sa.Insert:
    """Built once per dialect: every transaction that records history runs it."""
    taking = sa.bindparam("taking", type_=sa.BigInteger())
    insert = dialect.insert(change_counters).values(tenant_id=sa.bindparam("tenant_id"), seq=taking)
    return insert.on_conflict_do_update(
        index_elements=["tenant_id"], set_={"seq": change_counters.c.seq + insert.excluded.seq}
    ).returning(change_counters.c.seq)


_TAKE_COUNTER = {dialect: _take_counter_statement(dialect) for dialect in (postgresql, sqlite)}


def packed_difference(conn: Connection, staged: StagedQuery) -> list[int]:
    """A staged query's rows packed by the database into one value (a JSON array on SQLite,
    an array on PostgreSQL) and read at once: a row per change read into Python cost more than
    the difference itself. A member entering is its id, one leaving ``-id - 1`` (``~id``):
    any non-negative 64-bit id packs without overflow."""
    found = staged.query.subquery("moved")
    member = found.c.member_id
    value = sa.case((found.c.change == ENTERED, member), else_=-member - 1)
    if conn.dialect.name == "sqlite":
        packed = conn.execute(sa.select(sa.func.json_group_array(value))).scalar_one()
        return list(json.loads(packed))
    query = sa.select(sa.func.array_agg(value))
    return list(_planned_for_new_rows(conn, query, staged.merged).scalar_one() or [])


# PostgreSQL's planner settings for a staged query: the joins of whole generations, whose rows
# are newer than the statistics. Planned from statistics of a nearly empty table, a nested loop
# read a whole generation for each row of the other; a hash join of two generations spilled
# to disk in batches; a generation was read by a scan of the whole table. The array gathers
# the changes in memory (a publish moving 100,000 members: a few MB, past the default).
_NEW_ROWS = {"enable_nestloop": "off", "work_mem": "'64MB'"}
# A merged query reads only the two generations' rows, in key order, by the primary key.
_MERGED = {**_NEW_ROWS, "enable_hashjoin": "off", "enable_seqscan": "off"}


def _planned_for_new_rows(
    conn: Connection, statement: sa.Select[Any], merged: bool
) -> sa.Result[Any]:
    """Run ``statement`` with those settings (``merged``: hash joins off too)."""
    settings = _MERGED if merged else _NEW_ROWS
    for name, value in settings.items():
        conn.exec_driver_sql(f"SET LOCAL {name} = {value}")
    found = conn.execute(statement)
    for name in settings:
        conn.exec_driver_sql(f"SET LOCAL {name} TO DEFAULT")
    return found


def _note_sizes(conn: Connection, tenant_id: int, ids: list[str], at: int) -> None:
    """Today's size (UTC) of each segment that changed: its count as this transaction
    leaves it."""
    day = datetime.fromtimestamp(at, UTC).date()
    params = {"tenant_id": tenant_id, "ids": ids, "day": day}
    conn.execute(_NOTE_SIZES[_dialect(conn)], params)


def _note_sizes_statement(dialect: Any) -> sa.Insert:
    """Built once per dialect: every transaction that records history runs it."""
    s = segments.c
    day = sa.bindparam("day", type_=sa.Date())
    current = sa.select(s.tenant_id, s.id, day, s.member_total).where(
        s.tenant_id == sa.bindparam("tenant_id"), s.id.in_(sa.bindparam("ids", expanding=True))
    )
    upsert = dialect.insert(segment_sizes).from_select(
        ["tenant_id", "segment_id", "day", "size"], current
    )
    return upsert.on_conflict_do_update(
        index_elements=["tenant_id", "segment_id", "day"], set_={"size": upsert.excluded.size}
    )


_NOTE_SIZES = {dialect: _note_sizes_statement(dialect) for dialect in (postgresql, sqlite)}


@event.listens_for(Engine, "rollback")
def _on_rollback(conn: Connection) -> None:
    discard(conn)


@event.listens_for(Engine, "commit")
def _on_commit(conn: Connection) -> None:
    if pending(conn):
        discard(conn)
        raise RuntimeError(
            "membership changes staged but not stored: commit through Database.write"
        )


def last_change(conn: Connection, tenant_id: int, segment_number: int) -> int:
    """The ``seq`` of the segment's newest recorded change (0: none): a copy of its
    membership taken at this value is current while it stays (the analytics copy)."""
    b = history_blocks.c
    found = conn.execute(
        sa.select(sa.func.max(b.last_seq)).where(
            b.tenant_id == tenant_id, b.segment_number == segment_number
        )
    ).scalar_one()
    return 0 if found is None else int(found)
