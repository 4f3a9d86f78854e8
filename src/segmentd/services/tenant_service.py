"""Tenant use cases: a new tenant with its credential, and the configured credential made valid.

The command line, the app's start and the demo go through here.
"""

from __future__ import annotations

from sqlalchemy.engine import Connection

from ..storage import tenants
from ..storage.db import Database


def create_tenant(db: Database, name: str) -> tuple[str, str]:
    """A new tenant with a fresh api_user and api_key; returns them (the key is stored hashed)."""
    with db.write() as conn:
        return tenants.create_credential(conn, tenants.create_tenant(conn, name))


def ensure_credential(db: Database, api_user: str, api_key: str) -> int:
    """Make ``api_user``/``api_key`` valid (a new tenant if the user is new); return the tenant."""
    with db.write() as conn:
        return ensure_credential_in(conn, api_user, api_key)


def ensure_credential_in(conn: Connection, api_user: str, api_key: str) -> int:
    """``ensure_credential`` in the caller's write transaction."""
    return tenants.ensure_credential(conn, api_user, api_key)
