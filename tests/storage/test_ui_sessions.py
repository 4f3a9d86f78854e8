"""UI sessions live on the server: signing out ends a session for every copy of its cookie,
in every server process; a replaced key and expiry end it too; expired rows are deleted."""

from __future__ import annotations

import base64
import hashlib
import json
from collections.abc import Iterator

import httpx
import pytest
import sqlalchemy as sa

from segmentd.api.ui.session import COOKIE_NAME
from segmentd.storage.db import Database
from segmentd.storage.schema import ui_sessions
from segmentd.storage.tenants import ensure_credential
from segmentd.timefmt import now
from tests.conftest import AppServer, LiveServer, Tenant, test_settings
from tests.support.ui_support import Ui, csrf_of


@pytest.fixture
def ui(server: AppServer, tenant: Tenant) -> Iterator[Ui]:
    session = Ui(server, tenant.api_user, tenant.api_key)
    yield session
    session.close()


def copy_of(ui: Ui, server: AppServer | LiveServer) -> httpx.Client:
    """Another browser holding a copy of ``ui``'s session cookie."""
    cookie = ui.http.cookies[COOKIE_NAME]
    return server.client(cookies={COOKIE_NAME: cookie}, follow_redirects=False)


def session_rows(db: Database) -> int:
    with db.read() as conn:
        return int(conn.execute(sa.select(sa.func.count()).select_from(ui_sessions)).scalar_one())


def test_a_copied_cookie_is_refused_after_sign_out(ui: Ui, server: AppServer, db: Database) -> None:
    with copy_of(ui, server) as copy:
        page = copy.get("/ui/segments")
        assert page.status_code == 200  # the copy works while the session lasts
        csrf = csrf_of(page)
        assert session_rows(db) == 1
        assert ui.post("/ui/logout").status_code == 303
        assert session_rows(db) == 0
        assert ui.get("/ui/segments").status_code == 303
        answer = copy.get("/ui/segments")
        assert answer.status_code == 303
        assert answer.headers["location"].startswith("/ui/login")
        # Nor can the copy act: its form posts are sent to the login page.
        posted = copy.post("/ui/fields", data={"csrf_token": csrf, "field_name": "Copied"})
        assert posted.status_code == 303
        assert posted.headers["location"] == "/ui/login"


def test_sign_out_ends_the_session_in_every_server_process(
    ui: Ui, server: AppServer, db: Database, db_url: str
) -> None:
    # A second server on the same database and secret: another process of serve --workers 2.
    with (
        LiveServer(test_settings(db_url), start_worker=False) as other,
        copy_of(ui, other) as copy,
    ):
        assert copy.get("/ui/segments").status_code == 200
        assert ui.post("/ui/logout").status_code == 303
        assert copy.get("/ui/segments").status_code == 303


def test_a_replaced_key_ends_the_users_sessions(
    ui: Ui, server: AppServer, db: Database, tenant: Tenant
) -> None:
    with copy_of(ui, server) as copy:
        with db.write() as conn:
            ensure_credential(conn, tenant.api_user, tenant.api_key)  # the same key: no change
        assert session_rows(db) == 1
        assert copy.get("/ui/segments").status_code == 200
        with db.write() as conn:
            ensure_credential(conn, tenant.api_user, "a-brand-new-key-" + "x" * 16)
        assert session_rows(db) == 0
        assert copy.get("/ui/segments").status_code == 303
        assert ui.get("/ui/segments").status_code == 303


def test_an_expired_session_is_refused_and_expired_rows_are_deleted(
    ui: Ui, server: AppServer, db: Database, tenant: Tenant
) -> None:
    with db.write() as conn:
        conn.execute(sa.update(ui_sessions).values(expires_at=now() - 1))
    assert ui.get("/ui/segments").status_code == 303
    assert session_rows(db) == 1  # still there, until the next sign-in or sign-out
    again = Ui(server, tenant.api_user, tenant.api_key)
    try:
        assert session_rows(db) == 1  # the new one only
        with db.read() as conn:
            expires = conn.execute(sa.select(ui_sessions.c.expires_at)).scalar_one()
        assert expires > now() + 11 * 3600
    finally:
        again.close()


def test_a_session_belongs_to_its_tenant(
    ui: Ui, server: AppServer, db: Database, tenant: Tenant
) -> None:
    with db.read() as conn:
        row = conn.execute(sa.select(ui_sessions.c.tenant_id, ui_sessions.c.api_user)).one()
    assert tuple(row) == (tenant.id, tenant.api_user)
    # The cookie holds the id, the database only its digest.
    with db.read() as conn:
        stored = conn.execute(sa.select(ui_sessions.c.id_hash)).scalar_one()
    payload = ui.http.cookies[COOKIE_NAME].split(".")[0]
    session_id = json.loads(base64.b64decode(payload + "=" * (-len(payload) % 4)))["sid"]
    assert len(session_id) >= 43 and session_id != stored
    assert hashlib.sha256(session_id.encode()).hexdigest() == stored
