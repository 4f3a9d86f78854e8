"""The clock conditions read: the day relative dates count from, and when days change.

Every part of segmentd that asks what day it is (builds, real-time updates, the daily
refresh, previews) asks ``today``, so a test can move the day by setting the clock's source
instead of sleeping. Leases and the times stored on rows keep the real clock
(``time.time``, ``timefmt.now``): moving the day must not expire a lease.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import date, datetime, timezone

Source = Callable[[], float]  # epoch seconds

_source: Source = time.time


def now() -> float:
    """The time conditions count from, in epoch seconds."""
    return _source()


def today(tz: timezone) -> date:
    """The day it is in ``tz``: what relative dates count from."""
    return datetime.fromtimestamp(_source(), tz).date()


def set_source(source: Source | None) -> None:
    """Read time from ``source`` from now on (tests); None: the real clock again."""
    global _source
    _source = time.time if source is None else source
