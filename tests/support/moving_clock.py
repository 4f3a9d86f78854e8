"""A clock a test moves by hand (``segmentd.clock``): days pass without sleeping."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date, datetime, timedelta

from segmentd import clock


class MovingClock:
    """The time conditions read, set and moved by the test."""

    def __init__(self, start: datetime) -> None:
        self.at = start

    def __call__(self) -> float:
        return self.at.timestamp()

    def set(self, when: datetime) -> None:
        self.at = when

    def advance(self, **delta: float) -> None:
        self.at += timedelta(**delta)

    def today(self) -> date:
        return self.at.date()  # in the zone ``start`` was given in


@contextmanager
def moving_clock(start: datetime) -> Iterator[MovingClock]:
    """Conditions read ``start`` for now until the block ends (aware: its zone is the day's)."""
    moving = MovingClock(start)
    clock.set_source(moving)
    try:
        yield moving
    finally:
        clock.set_source(None)
