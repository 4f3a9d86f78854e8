"""Wake-ups after commit (``storage.wakeups``), on both databases: sent once a transaction
naming a queue commits, never for one that rolls back, and not carried by the pooled
connection into the next transaction."""

from __future__ import annotations

import threading
from collections.abc import Iterator

import pytest

from segmentd.storage import wakeups
from segmentd.storage.db import Database

QUEUE = "test-queue"


@pytest.fixture
def woken() -> Iterator[threading.Event]:
    event = threading.Event()
    wakeups.listen(QUEUE, event)
    yield event
    wakeups.stop_listening(QUEUE, event)


def test_a_commit_naming_the_queue_wakes_its_listeners_after_it(
    db: Database, woken: threading.Event
) -> None:
    with db.write() as conn:
        wakeups.after_commit(conn, QUEUE)
        assert not woken.is_set()  # not before the commit: the work is not visible yet
    assert woken.is_set()
    woken.clear()
    with db.write() as conn:
        wakeups.after_commit(conn, "another queue")
    assert not woken.is_set()


def test_a_rollback_sends_nothing_now_or_with_the_next_commit(
    db: Database, woken: threading.Event
) -> None:
    with pytest.raises(RuntimeError), db.write() as conn:
        wakeups.after_commit(conn, QUEUE)
        raise RuntimeError("changed my mind")
    assert not woken.is_set()
    with db.write() as conn:  # the pool hands the same connection back
        conn.exec_driver_sql("SELECT 1")
    assert not woken.is_set()


def test_a_listener_that_stopped_listening_is_not_woken(db: Database) -> None:
    event = threading.Event()
    wakeups.listen(QUEUE, event)
    wakeups.stop_listening(QUEUE, event)
    with db.write() as conn:
        wakeups.after_commit(conn, QUEUE)
    assert not event.is_set()


def test_a_commit_outside_database_write_leaves_nothing_for_the_next_one(
    db: Database, woken: threading.Event
) -> None:
    """Only ``Database.write`` sends wake-ups; a transaction committed otherwise forgets its
    own, so that a later commit on the same pooled connection does not send them."""
    with db.write_engine.begin() as conn:
        wakeups.after_commit(conn, QUEUE)
    with db.write() as conn:
        conn.exec_driver_sql("SELECT 1")
    assert not woken.is_set()
