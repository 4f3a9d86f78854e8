"""Every reader of the membership history against a plain list of its changes, on both
databases.

Random sequences of transactions are recorded through the real writers (``change_log``: a
publish's difference as a staged query, real-time changes as staged rows) with retention
cuts between them (``jobs.history_purge``). The tenant's whole feed must hold each
transaction's changes, once, at consecutive seqs in commit order, and nothing purged; taken
as the plain list, it is then the answer every other reader is checked against: feeds and
recent pages from random cursors and limits, a member's history, was-member-at, the members
moved in a range, the last seqs. Member ids span 0 to 2^63 - 1, so blocks of every width and
level are written and sought; a publish moves up to 300 members, more than two blocks.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest
import sqlalchemy as sa
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from segmentd.jobs.history_purge import DAY_SECONDS, purge_history
from segmentd.storage import change_log, id_blocks
from segmentd.storage.change_log import ENTERED, SegmentName, StagedQuery
from segmentd.storage.db import Database
from segmentd.storage.membership_history import (
    Change,
    last_seq,
    member_changes,
    member_state_at,
    members_moved_since,
    read_changes,
    recent_changes,
)
from segmentd.storage.schema import (
    change_counters,
    history_blocks,
    history_segments,
    segment_sizes,
)
from tests.conftest import Tenant

SEGMENTS = 3
LIST_ID = 1
FIRST = 1  # the segment numbers 1 to SEGMENTS
START = 10 * DAY_SECONDS  # the first transaction's time; each one a day later

member_ids = st.one_of(
    st.integers(0, 400), st.integers(2**40, 2**40 + 300), st.just(2**63 - 1), st.just(0)
)
publish = st.tuples(
    st.just("publish"),
    st.integers(0, SEGMENTS - 1),
    st.dictionaries(member_ids, st.sampled_from([0, 1]), max_size=300),
)
realtime = st.tuples(
    st.just("realtime"),
    st.dictionaries(
        st.tuples(st.integers(0, SEGMENTS - 1), member_ids), st.sampled_from([0, 1]), max_size=6
    ),
)
purge = st.tuples(st.just("purge"), st.integers(0, 12), st.integers(1, 300))
transactions = st.lists(st.one_of(publish, realtime, purge), min_size=1, max_size=8)


def segment_id(k: int) -> str:
    return f"{k:024d}"


def difference(moved: dict[int, int]) -> Any:
    """``moved`` as a SELECT of (member_id, change), a staged query's columns."""
    if not moved:
        return sa.select(sa.literal(0).label("member_id"), sa.literal(0).label("change")).where(
            sa.false()
        )
    return sa.union_all(
        *(
            sa.select(
                sa.literal(m, sa.BigInteger).label("member_id"),
                sa.literal(c, sa.SmallInteger).label("change"),
            )
            for m, c in moved.items()
        )
    )


@contextmanager
def clock(moment: list[int]) -> Iterator[None]:
    real = change_log.now
    change_log.now = lambda: moment[0]  # type: ignore[assignment]
    try:
        yield
    finally:
        change_log.now = real  # type: ignore[assignment]


def clear(db: Database, tenant_id: int) -> None:
    with db.write() as conn:
        for table in (history_blocks, change_counters, history_segments, segment_sizes):
            conn.execute(sa.delete(table).where(table.c.tenant_id == tenant_id))


def record(db: Database, tenant_id: int, steps: list[Any]) -> list[set[tuple[Any, ...]]]:
    """Run the transactions; each one's changes (segment id, member, change, cause, at), as
    kept after the purges."""
    moment = [START]
    kept: list[tuple[int, set[tuple[Any, ...]]]] = []
    names = {segment_id(k): SegmentName(FIRST + k, LIST_ID, named=False) for k in range(SEGMENTS)}
    with clock(moment):
        for step in steps:
            moment[0] += DAY_SECONDS
            at = moment[0]
            if step[0] == "publish":
                _, k, moved = step
                staged = StagedQuery(
                    segment_id(k), "build", difference(moved), deleted=(FIRST + k, LIST_ID)
                )
                with db.write() as conn:
                    change_log.stage_query(conn, tenant_id, staged)
                done = {(segment_id(k), m, c, "build", at) for m, c in moved.items()}
            elif step[0] == "realtime":
                _, moved = step
                with db.write() as conn:
                    rows = [(segment_id(k), m, c) for (k, m), c in moved.items()]
                    change_log.stage(conn, tenant_id, rows, "realtime", names)
                done = {(segment_id(k), m, c, "realtime", at) for (k, m), c in moved.items()}
            else:
                _, days, chunk = step
                purge_history(db, days, now=at, chunk=chunk)
                if days:  # 0: kept forever
                    kept = [(w, found) for w, found in kept if w >= at - days * DAY_SECONDS]
                continue
            if done:
                kept.append((at, done))
    return [found for _, found in kept]


def check_feed(feed: list[Change], kept: list[set[tuple[Any, ...]]], top: int) -> None:
    """The feed holds each kept transaction's changes at consecutive seqs, in commit order,
    ending at the counter's last seq when the last transaction is kept."""
    as_stored = [(c.segment_id, c.member_id, int(c.change == "entered"), c.cause, c.at)
                 for c in feed]  # fmt: skip
    start = 0
    for found in kept:
        part = feed[start : start + len(found)]
        assert {as_stored[start + k] for k in range(len(part))} == found
        seqs = [c.seq for c in part]
        assert seqs == list(range(seqs[0], seqs[0] + len(found)))
        start += len(found)
    assert start == len(feed)
    assert [c.seq for c in feed] == sorted({c.seq for c in feed})
    assert all(0 < c.seq <= top for c in feed)


def state_at(mine: list[Change], at: int) -> bool | None:
    before = [c for c in mine if c.at <= at]
    if before:
        return before[-1].change == "entered"
    after = [c for c in mine if c.at > at]
    return None if not after else after[0].change != "entered"


@settings(
    max_examples=12,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(steps=transactions, data=st.data())
def test_every_reader_answers_as_the_plain_list_of_changes(
    db: Database, tenant: Tenant, steps: list[Any], data: st.DataObject
) -> None:
    t = tenant.id
    clear(db, t)
    kept = record(db, t, steps)
    with db.read() as conn:
        top = int(
            conn.execute(
                sa.select(sa.func.coalesce(sa.func.max(change_counters.c.seq), 0)).where(
                    change_counters.c.tenant_id == t
                )
            ).scalar_one()
        )
        feed = read_changes(conn, t, after_seq=0, limit=100_000)
        check_feed(feed, kept, top)
        seqs = [c.seq for c in feed]
        assert last_seq(conn, t) == (seqs[-1] if seqs else 0)
        members = sorted({c.member_id for c in feed} | {1, 2**40 + 1})
        numbers = {segment_id(k): FIRST + k for k in range(SEGMENTS)}
        # Cursors anywhere, and at the seqs kept (inside blocks) and next to them.
        cursors = st.one_of(
            st.integers(0, top + 200), st.sampled_from([0, *seqs, *(s + 1 for s in seqs)])
        )
        for _ in range(6):
            cursor = data.draw(cursors)
            limit = data.draw(st.integers(1, 300))
            seg = data.draw(st.one_of(st.none(), st.sampled_from(sorted(numbers))))
            mine = [c for c in feed if seg is None or c.segment_id == seg]
            later = [c for c in mine if c.seq > cursor]
            assert (
                read_changes(conn, t, after_seq=cursor, limit=limit, segment_id=seg)
                == (later[:limit])
            )
            before = data.draw(st.one_of(st.none(), cursors))
            newest = [c for c in reversed(mine) if before is None or c.seq < before]
            assert (
                recent_changes(conn, t, before_seq=before, limit=limit, segment_id=seg)
                == newest[:limit]
            )
            member = data.draw(st.sampled_from(members))
            history = [c for c in mine if c.member_id == member]
            assert (
                member_changes(conn, t, member, after_seq=cursor, limit=limit, segment_id=seg)
                == [c for c in history if c.seq > cursor][:limit]
            )
            assert (
                recent_changes(
                    conn, t, before_seq=before, limit=limit, segment_id=seg, member_id=member
                )
                == [c for c in reversed(history) if before is None or c.seq < before][:limit]
            )
            if seg is not None:
                at = data.draw(st.integers(START, START + 12 * DAY_SECONDS))
                assert member_state_at(conn, t, seg, member, at) == state_at(history, at)
                lo = data.draw(st.sampled_from([-1, 0, 200, 2**40 + 100]))
                hi = lo + data.draw(st.sampled_from([1, 150, 2**41, 2**63 - 1 - max(lo, 0)]))
                moved = {c.member_id for c in later if lo < c.member_id <= hi}
                assert members_moved_since(conn, t, numbers[seg], cursor, lo, hi) == moved
                assert change_log.last_change(conn, t, numbers[seg]) == max(
                    (c.seq for c in mine), default=0
                )


@pytest.mark.parametrize("size", [1, 2, id_blocks.BLOCK, id_blocks.BLOCK + 1])
@pytest.mark.parametrize("span", [0, 255, 256, 2**16, 2**32, 2**63 - 1])
def test_blocks_hold_their_ids_at_every_width(size: int, span: int) -> None:
    """``size`` ids from 0 to ``span`` (fewer when the span is smaller), cut at ``BLOCK``;
    each one found where it is, and in the window the member index seeks for it."""
    ids = sorted({span * k // max(size - 1, 1) for k in range(size)})
    blocks = id_blocks.blocks(1, ENTERED, 2, ids)
    assert [b.size for b in blocks] == [len(p) for p in id_blocks.cut(ids)]
    assert all(b.size <= id_blocks.BLOCK for b in blocks)
    assert [m for b in blocks for m in id_blocks.ids_of(b.lo, b.level, b.ids)] == ids
    for b in blocks:
        assert b.level == (b.hi - b.lo).bit_length() <= 63
        assert (
            len(b.ids)
            == b.size
            * {8: 1, 16: 2, 32: 4, 64: 8}[next(w for w in (8, 16, 32, 64) if b.level <= w)]
        )
        for k, m in enumerate(id_blocks.ids_of(b.lo, b.level, b.ids)):
            assert id_blocks.position(b.lo, b.level, b.ids, m) == k
            assert b.lo >= id_blocks.window_starts(m)[b.level]
