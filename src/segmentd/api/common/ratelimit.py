"""Failed-login throttling: wrong keys for one api_user from one client answer 429 for a while.

Failures are counted per (client, api_user), and only wrong keys are refused: generated api
keys carry 190 bits of entropy (``storage.tenants``), so guessing one is hopeless at any rate
and a right key can always be checked and let through. Someone else's failures, behind the
same address or against the same user, never lock a right key out. A request without
credentials is not a guess and is not counted, nor is a key for an api_user that does not
exist: there is no key to find (and a fuzzer's made-up user is then never refused).

Process-local by design: each server process guards itself. Memory is bounded: past
``max_keys`` pairs, the pair whose last failure is oldest is forgotten.
"""

from __future__ import annotations

import math
import threading
import time
from collections import OrderedDict

from ...storage.tenants import CredentialCheck

# api_users are at most 64 characters (``storage.tenants.API_USER_PATTERN``): a longer one
# names no credential, and its failures need no more of it to be told apart.
_USER_CHARS = 64


class FailureLimiter:
    """At most ``limit`` failures per ``window`` seconds per (client, api_user); then that
    pair's wrong keys answer 429 until the window, opened by its first failure, ends."""

    def __init__(self, limit: int = 20, window: float = 60.0, max_keys: int = 100_000) -> None:
        self.limit, self.window, self.max_keys = limit, window, max_keys
        # (client, api_user) -> [start of the window, failures in it]
        self._failures: OrderedDict[tuple[str, str], list[float]] = OrderedDict()
        self._lock = threading.Lock()

    def failed(self, client: str, api_user: str, checked: CredentialCheck) -> int:
        """After a credential failed: 0 to answer 401, else the seconds of Retry-After to
        answer 429 with. Only wrong keys of existing users count."""
        return self.refusal(client, api_user) if checked.user_exists else 0

    def refusal(self, client: str, api_user: str) -> int:
        """Count a wrong key of ``api_user`` from ``client``: 0 while under the limit, else
        the seconds until the pair's window ends."""
        key = (client, api_user[:_USER_CHARS])
        now = time.monotonic()
        with self._lock:
            entry = self._failures.get(key)
            if entry is None or entry[0] + self.window <= now:
                entry = self._failures[key] = [now, 0.0]
            self._failures.move_to_end(key)
            if len(self._failures) > self.max_keys:
                self._failures.popitem(last=False)
            if entry[1] >= self.limit:
                return max(1, math.ceil(entry[0] + self.window - now))
            entry[1] += 1
            return 0

    def __len__(self) -> int:
        return len(self._failures)


def client_address(client: tuple[str, int] | None) -> str:
    """The client's address as the server saw it: the peer, or the address a trusted proxy
    forwarded (``SEGMENTD_TRUSTED_PROXIES``; ``segmentd serve`` hands it to uvicorn)."""
    return client[0] if client else "unknown"
