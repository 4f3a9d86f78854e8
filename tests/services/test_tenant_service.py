"""The tenant use cases, called directly, on SQLite and PostgreSQL: a new tenant's credential
signs in, and the configured credential is made valid once, its key replaced when it changes."""

from __future__ import annotations

from segmentd.services import tenant_service
from segmentd.storage.db import Database
from segmentd.storage.tenants import CredentialCheck, check_credential


def _check(db: Database, user: str, key: str) -> CredentialCheck:
    with db.read() as conn:
        return check_credential(conn, user, key)


def test_create_tenant_gives_a_working_credential(db: Database) -> None:
    user, key = tenant_service.create_tenant(db, "acme")
    other_user, other_key = tenant_service.create_tenant(db, "acme")
    assert user.startswith("user_") and user != other_user and key != other_key
    first, second = _check(db, user, key), _check(db, other_user, other_key)
    assert first.tenant_id is not None and second.tenant_id not in (None, first.tenant_id)
    assert _check(db, user, other_key) == CredentialCheck(None, True)


def test_ensure_credential_creates_once_and_takes_a_new_key(db: Database) -> None:
    tenant_id = tenant_service.ensure_credential(db, "ops", "k" * 32)
    assert tenant_service.ensure_credential(db, "ops", "k" * 32) == tenant_id
    assert _check(db, "ops", "k" * 32) == CredentialCheck(tenant_id, True)
    with db.write() as conn:
        assert tenant_service.ensure_credential_in(conn, "ops", "n" * 32) == tenant_id
    assert _check(db, "ops", "k" * 32) == CredentialCheck(None, True)
    assert _check(db, "ops", "n" * 32) == CredentialCheck(tenant_id, True)
