"""HTTP Basic authentication with ``api_user:api_key``."""

from __future__ import annotations

import base64
import binascii

from fastapi import Depends, Request
from fastapi.concurrency import run_in_threadpool

from ...storage.db import Database
from ...storage.tenants import authenticate
from ..deps import get_db
from .errors import auth_failed


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


async def current_tenant(request: Request, db: Database = Depends(get_db)) -> int:
    """The tenant behind the request's Basic credentials; 401 with code 30000 otherwise."""
    credentials = _credentials(request.headers.get("authorization"))
    if credentials is None:
        raise auth_failed()
    tenant_id = await run_in_threadpool(_check, db, *credentials)
    if tenant_id is None:
        raise auth_failed()
    return tenant_id
