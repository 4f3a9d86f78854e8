"""A server's SQLite database is checkpointed by a thread of its own, not by a request's commit."""

from __future__ import annotations

import os
import time
from pathlib import Path

import sqlalchemy as sa

from segmentd.storage.db import Database


def _write_rows(db: Database, count: int) -> None:
    with db.write() as conn:
        conn.exec_driver_sql("CREATE TABLE IF NOT EXISTS filler (id INTEGER PRIMARY KEY, pad TEXT)")
        conn.execute(
            sa.text("INSERT INTO filler (pad) VALUES (:pad)"),
            [{"pad": "x" * 1000} for _ in range(count)],
        )


def test_commits_leave_the_checkpoint_to_the_background(tmp_path: Path) -> None:
    path = tmp_path / "served.db"
    db = Database(f"sqlite:///{path}", background_checkpoints=True)
    try:
        with db.write() as conn:
            assert conn.exec_driver_sql("PRAGMA wal_autocheckpoint").scalar() == 0
        _write_rows(db, 2_000)  # about 2 MB: under SQLite's own 1,000-page threshold
        # Only a checkpoint moves the rows from the WAL into the database file.
        deadline = time.monotonic() + 30
        while os.path.getsize(path) < 2_000_000 and time.monotonic() < deadline:
            time.sleep(0.1)
        assert os.path.getsize(path) >= 2_000_000
        with db.read() as conn:
            assert conn.exec_driver_sql("SELECT count(*) FROM filler").scalar() == 2_000
    finally:
        db.dispose()


def test_other_processes_keep_sqlites_own_checkpoints(tmp_path: Path) -> None:
    db = Database(f"sqlite:///{tmp_path / 'cli.db'}")
    try:
        with db.write() as conn:
            assert conn.exec_driver_sql("PRAGMA wal_autocheckpoint").scalar() == 1000
    finally:
        db.dispose()
