"""Credentials that just passed are checked in memory for a short while, never failures."""

from __future__ import annotations

from segmentd.api.common.basic_auth import REMEMBER_SECONDS
from segmentd.storage.db import Database
from segmentd.storage.tenants import ensure_credential
from tests.conftest import AppServer, Tenant, wait_until
from tests.support.ingest_helpers import TAGS


def status(server: AppServer, auth: tuple[str, str]) -> int:
    with server.client() as http:
        return http.get(TAGS, auth=auth).status_code


def test_a_wrong_key_fails_even_right_after_the_right_one(
    server: AppServer, tenant: Tenant
) -> None:
    assert status(server, tenant.auth) == 200
    assert status(server, (tenant.api_user, tenant.api_key + "x")) == 401
    assert status(server, (tenant.api_user, "")) == 401
    assert status(server, tenant.auth) == 200


def test_a_changed_key_stops_working_within_the_memory(
    server: AppServer, tenant: Tenant, db: Database
) -> None:
    assert status(server, tenant.auth) == 200
    with db.write() as conn:
        ensure_credential(conn, tenant.api_user, "a-brand-new-key")
    assert status(server, (tenant.api_user, "a-brand-new-key")) == 200  # at once
    wait_until(lambda: status(server, tenant.auth) == 401, timeout=REMEMBER_SECONDS + 5)
