"""Tenants, their credentials and their default list.

API keys are stored as SHA-256 digests: generated keys carry 190 bits of entropy, so a
slow hash would add latency to every request without adding safety.
"""

from __future__ import annotations

import hashlib
import hmac
import re
from typing import NamedTuple

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from ..random_ids import new_secret
from ..timefmt import now
from .catalog import new_catalog_version
from .schema import credentials, lists, tenants
from .ui_sessions import end_user_sessions

API_USER_PATTERN = re.compile(r"[A-Za-z0-9_.-]{1,64}")
# Compared against when the user is unknown, so timing does not reveal which users exist.
_DUMMY_DIGEST = hashlib.sha256(b"segmentd-no-such-user").hexdigest()


def key_digest(api_key: str) -> str:
    # surrogatepass: a key no one was given (a lone surrogate) hashes instead of raising.
    return hashlib.sha256(api_key.encode("utf-8", "surrogatepass")).hexdigest()


def create_tenant(conn: Connection, name: str) -> int:
    tenant_id = int(
        conn.execute(
            sa.insert(tenants)
            .values(name=name, created_at=now(), catalog_version=new_catalog_version())
            .returning(tenants.c.id)
        ).scalar_one()
    )
    conn.execute(
        sa.insert(lists).values(
            tenant_id=tenant_id, name="Default list", is_default=True, created_at=now()
        )
    )
    return tenant_id


def create_credential(
    conn: Connection, tenant_id: int, api_user: str | None = None, api_key: str | None = None
) -> tuple[str, str]:
    api_user = api_user or f"user_{new_secret(12).lower()}"
    api_key = api_key or new_secret(32)
    if not API_USER_PATTERN.fullmatch(api_user):
        raise ValueError("api_user must be 1 to 64 characters of [A-Za-z0-9_.-]")
    conn.execute(
        sa.insert(credentials).values(
            tenant_id=tenant_id, api_user=api_user, key_hash=key_digest(api_key), created_at=now()
        )
    )
    return api_user, api_key


def ensure_credential(conn: Connection, api_user: str, api_key: str) -> int:
    """Make ``api_user``/``api_key`` valid (a new tenant if the user is new); return the tenant."""
    row = conn.execute(
        sa.select(credentials.c.tenant_id, credentials.c.key_hash).where(
            credentials.c.api_user == api_user
        )
    ).first()
    if row is not None:
        if row.key_hash != key_digest(api_key):  # a new key ends the old key's UI sessions
            conn.execute(
                sa.update(credentials)
                .where(credentials.c.api_user == api_user)
                .values(key_hash=key_digest(api_key))
            )
            end_user_sessions(conn, int(row.tenant_id), api_user)
        return int(row.tenant_id)
    tenant_id = create_tenant(conn, api_user)
    create_credential(conn, tenant_id, api_user, api_key)
    return tenant_id


class CredentialCheck(NamedTuple):
    tenant_id: int | None  # the tenant of a valid credential, else None
    user_exists: bool


def check_credential(conn: Connection, api_user: str, api_key: str) -> CredentialCheck:
    """The tenant of a valid credential, and whether ``api_user`` exists. Constant time in
    the key."""
    # A user no credential can have (NUL, a surrogate, too long) is not looked up at all.
    row = (
        conn.execute(
            sa.select(credentials.c.tenant_id, credentials.c.key_hash).where(
                credentials.c.api_user == api_user
            )
        ).first()
        if API_USER_PATTERN.fullmatch(api_user)
        else None
    )
    stored = row.key_hash if row else _DUMMY_DIGEST
    matches = hmac.compare_digest(stored, key_digest(api_key))
    return CredentialCheck(int(row.tenant_id) if row and matches else None, row is not None)


def authenticate(conn: Connection, api_user: str, api_key: str) -> int | None:
    """The tenant of a valid credential, else None. Constant time in the key."""
    return check_credential(conn, api_user, api_key).tenant_id


def default_list_id(conn: Connection, tenant_id: int) -> int:
    return int(
        conn.execute(
            sa.select(lists.c.id).where(lists.c.tenant_id == tenant_id, lists.c.is_default)
        ).scalar_one()
    )


def list_exists(conn: Connection, tenant_id: int, list_id: int) -> bool:
    found = conn.execute(
        sa.select(lists.c.id).where(lists.c.tenant_id == tenant_id, lists.c.id == list_id)
    ).first()
    return found is not None
