"""When a failed webhook delivery is tried again, and when it is parked (docs/webhooks.md).

Exponential backoff with jitter: after the n-th failed try the next waits between half and
all of ``min(FIRST_DELAY * 2**(n-1), MAX_DELAY)`` (the jitter spreads receivers that fail
together). A delivery is retried for ``RETRY_WINDOW`` from its first try (the last retry falls
at or after its end), then parked until a manual replay.
"""

from __future__ import annotations

import random

FIRST_DELAY = 5.0  # seconds
MAX_DELAY = 3600.0  # an hour: a receiver back up is reached within the hour
RETRY_WINDOW = 24 * 3600.0


def ceiling(tries: int) -> float:
    """The longest wait after ``tries`` failed tries (1 or more)."""
    return min(FIRST_DELAY * 2 ** min(tries - 1, 32), MAX_DELAY)


def next_delay(tries: int, rng: random.Random | None = None) -> float:
    """The wait after ``tries`` failed tries: between half the ceiling and all of it."""
    top = ceiling(tries)
    return top / 2 + (rng or random).uniform(0, top / 2)


def window_over(window_start: float, at: float) -> bool:
    """Whether a delivery first tried at ``window_start`` has been retried long enough."""
    return at - window_start >= RETRY_WINDOW
