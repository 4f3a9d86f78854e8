"""SQLite writers of one process take turns: a request is not starved by a writer that commits
and begins again at once (an import's chunks), and a writer that gives up loses its turn only."""

from __future__ import annotations

import threading
import time
from pathlib import Path

import pytest
import sqlalchemy as sa

from segmentd.storage.db import Database
from segmentd.storage.faults import DatabaseUnavailable
from segmentd.storage.write_turns import WriteTurns

HOT_TRANSACTIONS = 100


def _hot_writer(db: Database, started: threading.Event, done: list[int]) -> None:
    """Back-to-back write transactions, each holding the lock a little while."""
    for number in range(HOT_TRANSACTIONS):
        with db.write() as conn:
            conn.execute(sa.text("INSERT INTO chunks (n) VALUES (:n)"), {"n": number})
            started.set()
            time.sleep(0.02)
        done.append(number)


def test_a_request_gets_the_next_turn_behind_a_writer_that_begins_again_at_once(
    tmp_path: Path,
) -> None:
    db = Database(f"sqlite:///{tmp_path / 'turns.db'}")
    try:
        with db.write() as conn:
            conn.exec_driver_sql("CREATE TABLE chunks (n INTEGER)")
        started, done = threading.Event(), []
        hot = threading.Thread(target=_hot_writer, args=(db, started, done))
        hot.start()
        started.wait(10)
        with db.write() as conn:
            conn.exec_driver_sql("INSERT INTO chunks (n) VALUES (-1)")
        hot_done_before_request = len(done)
        hot.join()
        # Without turns the request polls and loses the race to nearly every chunk.
        assert hot_done_before_request < HOT_TRANSACTIONS // 4
        with db.read() as conn:
            rows = conn.exec_driver_sql("SELECT count(*) FROM chunks").scalar()
        assert rows == HOT_TRANSACTIONS + 1
    finally:
        db.dispose()


def test_a_writer_that_gives_up_passes_its_turn_on() -> None:
    turns = WriteTurns(timeout_s=0.2)
    holding, release = threading.Event(), threading.Event()

    def hold() -> None:
        with turns.turn():
            holding.set()
            release.wait(10)

    holder = threading.Thread(target=hold)
    holder.start()
    holding.wait(10)
    with pytest.raises(DatabaseUnavailable), turns.turn():
        pass  # never reached: the holder keeps its turn past the timeout
    waiter_served = threading.Event()

    def wait_behind() -> None:
        with turns.turn():
            waiter_served.set()

    waiter = threading.Thread(target=wait_behind)
    waiter.start()
    release.set()
    holder.join()
    waiter.join(10)
    assert waiter_served.is_set()  # the ticket given up was skipped, not waited for
    with turns.turn():
        pass
