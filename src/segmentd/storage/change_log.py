"""Membership history as it is written: changes staged while a write transaction runs, and
numbered and stored as its last step.

The writers of membership stage what moved: ``stage`` a few (segment, member) changes known
in Python, or ``stage_query`` a set-based SELECT of ``(member_id, change)`` that runs at the
flush (a build's publish: the difference between two generations, never a row per member in
Python; a segment deleted: its members leaving, its rows deleted only after the query ran).
``flush``, called by ``Database.write`` just before COMMIT, takes the tenant's
counter row, inserts the staged changes with consecutive ``seq`` after it, and writes today's
size of each segment that changed (``segment_sizes``). A segment's first changes also name it
in ``history_segments`` (its number to its id and list), which outlives the segment.

Why a change's row is narrow and its member index keyed by ``seq_block`` first: recording
costs what the rows and their index entries write (docs/performance.md). A publish numbers
its changes in member order, so they enter the primary key, the segment's index and the
newest block of the member index each in key order, touching few pages however much history
is kept.

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

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy import event
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Connection, Engine

from ..timefmt import now
from . import history_at_once, transaction_info
from .schema import (
    change_counters,
    history_segments,
    membership_changes,
    segment_sizes,
    segments,
)

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
# Changes per block of the member index (``schema.membership_changes.seq_block``): a block's
# entries fit in a few hundred pages, and a member's history is one seek per block.
SEQ_BLOCK = 131_072

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
    moved = [
        (numbers[segment_id], member_id, change, CAUSE_CODES[cause])
        for (segment_id, member_id), (change, cause) in staged.rows.items()
        if segment_id in numbers
    ]
    if conn.dialect.name == "postgresql" and not (staged.queries or staged.after):
        names = [(n, i, li) for i, n, li in unnamed]
        day = datetime.fromtimestamp(at, UTC).date()
        history_at_once.store(conn, tenant_id, moved, names, ids, at, day, SEQ_BLOCK)
        return
    _name(conn, tenant_id, unnamed)
    # Rows alone: the counter moves past them in the statement that locks it.
    last = _take_counter(conn, tenant_id, 0 if staged.queries else len(moved))
    _insert_rows(conn, tenant_id, last, moved, at)
    seq = last + len(moved)
    for query in staged.queries:
        if query.segment_id in numbers:
            seq = _insert_query(conn, tenant_id, seq, numbers[query.segment_id], at, query)
    for action in staged.after:
        action(conn)
    if staged.queries and seq != last:
        conn.execute(
            sa.update(change_counters)
            .where(change_counters.c.tenant_id == tenant_id)
            .values(seq=seq)
        )
    _note_sizes(conn, tenant_id, ids, at)


def _insert_rows(
    conn: Connection, tenant_id: int, last: int, moved: list[tuple[int, int, int, int]], at: int
) -> None:
    """Insert (segment number, member id, change, cause code) changes numbered after ``last``."""
    if moved:
        rows = [
            {
                "tenant_id": tenant_id,
                "seq": last + k,
                "seq_block": (last + k) // SEQ_BLOCK,
                "segment_number": number,
                "member_id": member_id,
                "change": change,
                "cause": cause,
                "at": at,
            }
            for k, (number, member_id, change, cause) in enumerate(moved, start=1)
        ]
        conn.execute(sa.insert(membership_changes), rows)


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


def _insert_query(
    conn: Connection, tenant_id: int, last: int, number: int, at: int, staged: StagedQuery
) -> int:
    """Insert a staged query's changes numbered after ``last``; the last seq now given. No
    ORDER BY: rows come out of the numbering in its order (SQLite would sort them once more)."""
    found = staged.query.subquery("moved")
    numbered = (_numbered_sqlite if conn.dialect.name == "sqlite" else _numbered)(found, last)
    n = numbered.c
    select = sa.select(
        sa.literal(tenant_id, sa.BigInteger),
        n.seq,
        _block_of(n.seq),
        sa.literal(number, sa.BigInteger),
        n.member_id,
        n.change,
        sa.literal(CAUSE_CODES[staged.cause], sa.SmallInteger),
        sa.literal(at, sa.BigInteger),
    )
    names = [
        "tenant_id",
        "seq",
        "seq_block",
        "segment_number",
        "member_id",
        "change",
        "cause",
        "at",
    ]
    insert = sa.insert(membership_changes).from_select(names, select)
    _planned_for_new_rows(conn, insert, staged.merged)
    # A seek on the primary key, where the rowcount of INSERT ... SELECT is not reliable on
    # every driver.
    mc = membership_changes.c
    top = conn.execute(sa.select(sa.func.max(mc.seq)).where(mc.tenant_id == tenant_id)).scalar()
    return max(last, int(top or 0))


def _numbered(found: sa.Subquery, last: int) -> sa.Subquery:
    """(seq, member_id, change) of each row of ``found``, numbered after ``last`` in member
    order (each member once in a staged query), the member index's order."""
    number_of = sa.func.row_number().over(order_by=found.c.member_id)
    return sa.select(
        (sa.literal(last, sa.BigInteger) + number_of).label("seq"),
        found.c.member_id,
        found.c.change,
    ).subquery("numbered")


def _numbered_sqlite(found: sa.Subquery, last: int) -> sa.Subquery:
    """SQLite: the same, numbered as the rows come. Each part of a difference comes in member
    order already (sorting them all again took a temporary b-tree per part, written to a file).

    Not ``row_number()``: SQLite copies every row of a window into a temporary table and out
    again, most of the time of a first publish's numbering. The rows are gathered into one
    JSON array instead (member and change packed in one integer), whose positions
    ``json_each`` gives as ``key``.
    """
    packed = sa.func.json_group_array(found.c.member_id * 2 + found.c.change)
    each = sa.func.json_each(sa.select(packed).scalar_subquery()).table_valued("key", "value")
    value = sa.type_coerce(each.c.value, sa.BigInteger)
    return sa.select(
        (sa.literal(last + 1, sa.BigInteger) + sa.type_coerce(each.c.key, sa.BigInteger)).label(
            "seq"
        ),
        (value // 2).label("member_id"),
        sa.cast(value % 2, sa.SmallInteger).label("change"),
    ).subquery("numbered")


# PostgreSQL's planner settings for a staged query: the joins of whole generations, whose rows
# are newer than the statistics. Planned from statistics of a nearly empty table, a nested loop
# read a whole generation for each row of the other; a hash join of two generations spilled
# to disk in batches; a generation was read by a scan of the whole table. The numbering sorts
# the changes in memory (a publish moving 100,000 members: a few MB, past the default).
_NEW_ROWS = {"enable_nestloop": "off", "work_mem": "'64MB'"}
# A merged query reads only the two generations' rows, in key order, by the primary key.
_MERGED = {**_NEW_ROWS, "enable_hashjoin": "off", "enable_seqscan": "off"}


def _planned_for_new_rows(conn: Connection, statement: sa.Insert, merged: bool) -> None:
    """Run ``statement`` with those settings on PostgreSQL (``merged``: hash joins off too)."""
    if conn.dialect.name != "postgresql":
        conn.execute(statement)
        return
    settings = _MERGED if merged else _NEW_ROWS
    for name, value in settings.items():
        conn.exec_driver_sql(f"SET LOCAL {name} = {value}")
    conn.execute(statement)
    for name in settings:
        conn.exec_driver_sql(f"SET LOCAL {name} TO DEFAULT")


def _block_of(seq: sa.ColumnElement[Any]) -> sa.ColumnElement[Any]:
    """``seq // SEQ_BLOCK`` in SQL: integer division on both databases (non-negative seqs)."""
    return seq // sa.literal(SEQ_BLOCK, sa.BigInteger)


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
    c = membership_changes.c
    found = conn.execute(
        sa.select(sa.func.max(c.seq)).where(
            c.tenant_id == tenant_id, c.segment_number == segment_number
        )
    ).scalar_one()
    return 0 if found is None else int(found)
