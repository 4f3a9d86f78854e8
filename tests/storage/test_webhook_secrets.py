"""Webhook secrets at rest: sealed with the server secret, bound to their row, read back to
sign, and checked at start like site tokens."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from segmentd.secrets import SealError, SecretMismatch, token_keys
from segmentd.storage.db import Database
from segmentd.storage.schema import webhooks
from segmentd.storage.secret_check import check_secret
from segmentd.storage.webhooks import create_webhook, read_secret
from tests.conftest import Tenant, test_settings


def test_a_webhook_secret_is_sealed_and_read_back(
    db: Database, db_url: str, tenant: Tenant
) -> None:
    settings = test_settings(db_url)
    keys = token_keys(settings)
    with db.write() as conn:
        first, secret = create_webhook(
            conn,
            tenant.id,
            url="https://8.8.8.8/h",
            segment_id=None,
            events="both",
            enabled=True,
            cursor=0,
            keys=keys,
        )
        second, _other = create_webhook(
            conn,
            tenant.id,
            url="https://8.8.8.8/h",
            segment_id=None,
            events="both",
            enabled=True,
            cursor=0,
            keys=keys,
        )
    with db.read() as conn:
        stored = conn.execute(sa.select(webhooks.c.id, webhooks.c.secret_sealed)).all()
        assert all(secret not in row.secret_sealed for row in stored)
        assert read_secret(conn, tenant.id, first.id, keys) == secret
        sealed_first = dict(stored)[first.id]
    with pytest.raises(SealError):  # a sealed secret moved to another row does not open
        keys.unseal_webhook_secret(sealed_first, second.id)
    other = test_settings(db_url, secret_key="another-secret-key-entirely-different")
    with db.read() as conn, pytest.raises(SecretMismatch, match="webhook secrets"):
        check_secret(conn, other)
    with db.read() as conn:
        check_secret(conn, settings)
