"""HTTP Basic authentication with ``api_user:api_key``."""

from __future__ import annotations

import base64
import binascii

from fastapi import Depends, Request, Security
from fastapi.concurrency import run_in_threadpool
from fastapi.security import HTTPBasic

from ...storage.db import Database
from ...storage.tenants import authenticate
from ..deps import get_db
from ..ratelimit import FailureLimiter
from .errors import AUTH_FAILED, EngageLabError, auth_failed


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


def _check(db: Database, user: str, key: str) -> int | None:
    with db.read() as conn:
        return authenticate(conn, user, key)


class TooManyFailures(EngageLabError):
    def __init__(self, retry_after: int) -> None:
        super().__init__(
            429, AUTH_FAILED, f"too many failed authentications, retry in {retry_after} s"
        )
        self.retry_after = retry_after


def _client_key(request: Request) -> str:
    return request.client.host if request.client else "unknown"


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

    Repeated failures from one client answer 429 with Retry-After, even for a right key,
    so that guessing cannot continue at full speed.
    """
    limiter: FailureLimiter = request.app.state.auth_limiter
    client = _client_key(request)
    retry_after = limiter.retry_after(client)
    if retry_after:
        raise TooManyFailures(retry_after)
    credentials = _credentials(request.headers.get("authorization"))
    tenant_id = None if credentials is None else await run_in_threadpool(_check, db, *credentials)
    if tenant_id is None:
        limiter.record_failure(client)
        raise auth_failed()
    return tenant_id
