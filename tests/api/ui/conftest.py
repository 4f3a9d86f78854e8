"""What the UI tests share: a signed-in UI on a fresh database, and one seeded server per
backend and module for the tests that only add segments of their own."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import httpx
import pytest

from segmentd.storage.db import Database
from tests.conftest import (
    BACKENDS,
    AppServer,
    Tenant,
    make_tenant,
    migrated_database_url,
    test_settings,
)
from tests.support.ui_support import Seed, Ui, seed


@pytest.fixture
def ui(server: AppServer, tenant: Tenant) -> Iterator[Ui]:
    session = Ui(server, tenant.api_user, tenant.api_key)
    yield session
    session.close()


@dataclass
class Shared:
    """One seeded server per backend for the tests that only add segments of their own."""

    server: AppServer
    db: Database
    tenant: Tenant
    api: httpx.Client
    seed: Seed
    ui: Ui


@pytest.fixture(scope="module", params=BACKENDS)
def shared(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Shared]:
    for url in migrated_database_url(request.param, tmp_path_factory.mktemp("ui")):
        db = Database(url)
        db.migrate()
        tenant = make_tenant(db)
        with (
            AppServer(test_settings(url)) as server,
            server.client(auth=tenant.auth, timeout=30) as api,
        ):
            ui = Ui(server, tenant.api_user, tenant.api_key)
            yield Shared(server, db, tenant, api, seed(api), ui)
            ui.close()
        db.dispose()
