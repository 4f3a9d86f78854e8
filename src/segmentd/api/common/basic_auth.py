"""HTTP Basic authentication with ``api_user:api_key``.

A credential that just passed is remembered for ``REMEMBER_SECONDS``
(its key's digest and tenant, never the key), so the next requests check it in memory, still
in constant time, without a database read and a thread hop: a key changed in the database
stops working in this process within that time. A failure is never remembered.
"""

from __future__ import annotations

import base64
import binascii
import hmac
import threading
import time

from fastapi import Depends, Request, Security
from fastapi.concurrency import run_in_threadpool
from fastapi.security import HTTPBasic

from ...storage.db import Database
from ...storage.tenants import CredentialCheck, check_credential, key_digest
from .app_state import get_db
from .envelope import AUTH_FAILED, EngageLabError, auth_failed
from .ratelimit import FailureLimiter, client_address


def _credentials(header: str | None) -> tuple[str, str] | None:
    if not header:
        return None
    scheme, _, encoded = header.partition(" ")
    if scheme.lower() != "basic":
        return None
    try:
        decoded = base64.b64decode(encoded.strip(), validate=True).decode()
    except (binascii.Error, UnicodeDecodeError):
        return None
    user, colon, key = decoded.partition(":")
    return (user, key) if colon and user else None


REMEMBER_SECONDS = 2.0
_REMEMBERED_MAX = 10_000


class _Remembered:
    """Credentials that passed lately: (database, user) -> (key digest, tenant, expiry)."""

    def __init__(self) -> None:
        self._items: dict[tuple[str, str], tuple[str, int, float]] = {}
        self._lock = threading.Lock()

    def tenant(self, database: str, user: str, digest: str) -> int | None:
        found = self._items.get((database, user))
        if found is None or found[2] < time.monotonic():
            return None
        stored, tenant_id, _ = found
        return tenant_id if hmac.compare_digest(stored, digest) else None

    def remember(self, database: str, user: str, digest: str, tenant_id: int) -> None:
        with self._lock:
            if len(self._items) >= _REMEMBERED_MAX:
                self._items.clear()
            self._items[(database, user)] = (digest, tenant_id, time.monotonic() + REMEMBER_SECONDS)


_remembered = _Remembered()


def _check(db: Database, user: str, key: str) -> CredentialCheck:
    with db.read() as conn:
        return check_credential(conn, user, key)


async def _verify(db: Database, user: str, key: str) -> CredentialCheck:
    digest = key_digest(key)
    tenant_id = _remembered.tenant(db.url, user, digest)
    if tenant_id is not None:
        return CredentialCheck(tenant_id, True)
    checked = await run_in_threadpool(_check, db, user, key)
    if checked.tenant_id is not None:
        _remembered.remember(db.url, user, digest, checked.tenant_id)
    return checked


class TooManyFailures(EngageLabError):
    def __init__(self, retry_after: int) -> None:
        super().__init__(
            429, AUTH_FAILED, f"too many failed authentications, retry in {retry_after} s"
        )
        self.retry_after = retry_after


class DeclaredBasic(HTTPBasic):
    """Declares Basic auth in /openapi.json (so /docs can send credentials) and parses nothing.

    FastAPI's own HTTPBasic answers a garbled header itself, before the failure throttle and
    with the wrong error code; ``current_tenant`` reads the header instead.
    """

    async def __call__(self, request: Request) -> None:  # type: ignore[override]
        return None


basic_scheme = DeclaredBasic(auto_error=False, description="api_user:api_key")


async def current_tenant(
    request: Request,
    db: Database = Depends(get_db),
    _declared: None = Security(basic_scheme),
) -> int:
    """The tenant behind the request's Basic credentials; 401 with code 30000 otherwise.

    Wrong keys for one api_user from one client beyond the limit answer 429 with Retry-After
    (``ratelimit``); a right key always passes, and no credentials at all is no guess.
    """
    credentials = _credentials(request.headers.get("authorization"))
    if credentials is None:
        raise auth_failed()
    checked = await _verify(db, *credentials)
    if checked.tenant_id is not None:
        return checked.tenant_id
    limiter: FailureLimiter = request.app.state.auth_limiter
    retry_after = limiter.failed(client_address(request.client), credentials[0], checked)
    if retry_after:
        raise TooManyFailures(retry_after)
    raise auth_failed()
