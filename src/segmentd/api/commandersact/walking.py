"""A limit on the distinct visitors one client looks up by cookie per minute (docs/sites.md).

The cookie look-up needs no token, so a script setting the cookie could walk through visitor
ids. A browser sends one TCID, and a NAT of browsers a few per minute; a walk sends a new one
on every request. So each client may look up at most ``limit`` distinct visitors per minute
of the clock; a visitor it already looked up in that minute always passes. IPv6 clients count
by their /64 network: one host commonly holds all of it.

Process-local, in memory, used on the event loop only, no database read: a few dictionary
operations per cookie look-up. Clients and visitors are kept as their hashes (a collision
costs nothing but a free look-up). Memory is bounded: past ``max_entries`` visitors in a
minute, every count starts again (refilling the table takes ``max_entries`` look-ups, so a
walker gains no more than ``limit`` per address and minute by it).
"""

from __future__ import annotations

import ipaddress
import math
import time

WINDOW_SECONDS = 60.0
MAX_ENTRIES = 100_000  # visitors kept per window (under 20 MB however they are spread)


def client_group(address: str) -> str:
    """The client to count for: the address, or for IPv6 its /64 network."""
    if ":" not in address:
        return address
    try:
        return ipaddress.IPv6Address(address).packed[:8].hex()
    except ValueError:
        return address


class VisitorWalkLimit:
    """Distinct visitors per client per window; ``limit`` 0 turns the limit off."""

    def __init__(
        self, limit: int, window: float = WINDOW_SECONDS, max_entries: int = MAX_ENTRIES
    ) -> None:
        self.limit, self.window, self.max_entries = limit, window, max_entries
        self._window = -1
        # hash(client) -> hash(its one visitor), or the set of them once it has several
        self._seen: dict[int, int | set[int]] = {}
        self._entries = 0

    def refusal(self, client: str, visitor: str) -> int:
        """0 when ``client`` may look ``visitor`` up, else the seconds until it may."""
        if not self.limit:
            return 0
        now = time.monotonic()
        window = int(now // self.window)
        if window != self._window or self._entries >= self.max_entries:
            self._window, self._seen, self._entries = window, {}, 0
        key, wanted = hash(client), hash(visitor)
        seen = self._seen.get(key)
        if seen is None:
            self._seen[key] = wanted
        elif isinstance(seen, int):
            if seen == wanted:
                return 0
            if self.limit <= 1:
                return self._retry_after(now)
            self._seen[key] = {seen, wanted}
        elif wanted in seen:
            return 0
        elif len(seen) >= self.limit:
            return self._retry_after(now)
        else:
            seen.add(wanted)
        self._entries += 1
        return 0

    def _retry_after(self, now: float) -> int:
        return max(1, math.ceil((self._window + 1) * self.window - now))

    def __len__(self) -> int:
        return self._entries
