"""A limit on the distinct visitors one client looks up by cookie per minute (docs/sites.md).

The cookie look-up needs no token, so a script setting the cookie could walk through visitor
ids. A browser sends one TCID, and a NAT of browsers a few per minute; a walk sends a new one
on every request. So each client may look up at most ``limit`` distinct visitors in a window
of a minute (opened by its first look-up); a visitor it already looked up in the window
always passes. IPv6 clients count by their /64 network: one host commonly holds all of it.

Process-local, in memory, no database read: a few dictionary and set operations per cookie
look-up. Memory is bounded by ``max_entries`` visitor ids in all: past it, the clients whose
windows opened first are forgotten.
"""

from __future__ import annotations

import ipaddress
import math
import time
from collections import OrderedDict

WINDOW_SECONDS = 60.0
MAX_ENTRIES = 200_000  # visitor ids kept in all (a few MB)


def client_group(address: str) -> str:
    """The client to count for: the address, or for IPv6 its /64 network."""
    if ":" not in address:
        return address
    try:
        return ipaddress.IPv6Address(address).packed[:8].hex()
    except ValueError:
        return address


class VisitorWalkLimit:
    """Distinct visitor ids per client per window; ``limit`` 0 turns the limit off."""

    def __init__(
        self, limit: int, window: float = WINDOW_SECONDS, max_entries: int = MAX_ENTRIES
    ) -> None:
        self.limit, self.window, self.max_entries = limit, window, max_entries
        # client -> (window start, visitor ids seen in it), oldest window first
        self._clients: OrderedDict[str, tuple[float, set[str]]] = OrderedDict()
        self._entries = 0

    def refusal(self, client: str, visitor: str) -> int:
        """0 when ``client`` may look ``visitor`` up, else the seconds until it may."""
        if not self.limit:
            return 0
        now = time.monotonic()
        found = self._clients.get(client)
        if found is None or found[0] + self.window <= now:
            found = self._open(client, now)
        seen = found[1]
        if visitor in seen:
            return 0
        if len(seen) >= self.limit:
            return max(1, math.ceil(found[0] + self.window - now))
        seen.add(visitor)
        self._entries += 1
        if self._entries > self.max_entries:
            self._forget_oldest(client)
        return 0

    def _open(self, client: str, now: float) -> tuple[float, set[str]]:
        """A new window for ``client``, moved behind every other."""
        old = self._clients.pop(client, None)
        if old is not None:
            self._entries -= len(old[1])
        window: tuple[float, set[str]] = (now, set())
        self._clients[client] = window
        return window

    def _forget_oldest(self, keep: str) -> None:
        while self._entries > self.max_entries and len(self._clients) > 1:
            client, (_, seen) = self._clients.popitem(last=False)
            if client == keep:  # the newest window is never the oldest; kept all the same
                self._clients[client] = (_, seen)
                continue
            self._entries -= len(seen)

    def __len__(self) -> int:
        return self._entries
