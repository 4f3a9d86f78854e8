"""The SQLite library's process-wide settings, made before Python's ``sqlite3`` module
initializes the library (importing it does; settings are refused after that).

One setting: no memory statistics. With them on (the library's default), every allocation
and free of every connection takes one global mutex to count the bytes, and the library
Python links here allocates for nearly every value it reads (it is built without its
per-connection lookaside memory). Two threads counting on two reader connections then wait
for each other on that mutex more than they run. segmentd reads no memory statistic and
sets no heap limit (both need them).
"""

from __future__ import annotations

import ctypes
import ctypes.util
import sys
from contextlib import closing

_CONFIG_MEMSTATUS = 9  # SQLITE_CONFIG_MEMSTATUS
_OK, _MISUSE = 0, 21


def without_memory_statistics() -> bool:
    """Turn the library's memory statistics off, if ``sqlite3`` is not imported yet; whether
    this call turned them off (False: too late, or no library found to configure)."""
    if "_sqlite3" in sys.modules:
        return False
    library = _library()
    if library is None:
        return False
    return bool(library.sqlite3_config(_CONFIG_MEMSTATUS, ctypes.c_int(0)) == _OK)


def memory_statistics_off() -> bool:
    """Whether the library Python's ``sqlite3`` uses counts no memory. It refuses settings
    once initialized, so a refusal after ``import sqlite3`` says it is the library found here,
    and with statistics on, an open connection's memory is counted."""
    import sqlite3

    library = _library()
    if library is None:
        return False
    with closing(sqlite3.connect(":memory:")) as conn:
        conn.execute("SELECT 1").fetchall()
        refused = library.sqlite3_config(_CONFIG_MEMSTATUS, ctypes.c_int(0)) == _MISUSE
        library.sqlite3_memory_used.restype = ctypes.c_int64
        return bool(refused and library.sqlite3_memory_used() == 0)


def _library() -> ctypes.CDLL | None:
    name = ctypes.util.find_library("sqlite3")
    if name is None:
        return None
    try:
        return ctypes.CDLL(name)
    except OSError:
        return None
