"""The SQLite library counts no memory in a segmentd process (the statistics' global mutex
serialized the reader threads that count side by side), and is left alone once Python's
``sqlite3`` has initialized it."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

STATISTICS_AFTER = """
import sys
from pathlib import Path
{first}
from segmentd.storage.db import Database
from segmentd.storage.sqlite_library import memory_statistics_off, without_memory_statistics
Database("sqlite:///" + sys.argv[1]).dispose()
print(memory_statistics_off(), without_memory_statistics())
"""


def _run(first_import: str, path: str) -> str:
    done = subprocess.run(
        [sys.executable, "-c", STATISTICS_AFTER.format(first=first_import), path],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    return done.stdout.strip()


def test_importing_storage_turns_the_memory_statistics_off(tmp_path: Path) -> None:
    # Off, and a second call is refused: the library is initialized by then.
    assert _run("", f"{tmp_path}/a.db") == "True False"


def test_a_library_initialized_before_storage_is_left_as_it_is(tmp_path: Path) -> None:
    assert _run("import sqlite3", f"{tmp_path}/b.db") == "False False"
