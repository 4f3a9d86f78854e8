"""What the UI tests share: a signed-in UI on a fresh database, and one seeded server per
backend and module for the tests that only add segments of their own."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from segmentd.storage.db import Database
from tests.conftest import (
    BACKENDS,
    IN_CI,
    AppServer,
    LiveServer,
    Tenant,
    make_tenant,
    migrated_database_url,
    test_settings,
)
from tests.support.ui_browser import CHROMIUM, CHROMIUM_ARGS, Site
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


@pytest.fixture(scope="module")
def chromium() -> Iterator[Any]:
    """One Chromium per module: a launch costs a second or two; each test's pages still get
    contexts of their own (``browser``)."""
    if not CHROMIUM.exists():
        if IN_CI:
            pytest.fail("chromium is required in CI (.ci/run installs it)")
        pytest.skip("chromium is not installed (apt-get install chromium)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield launched
        launched.close()


@pytest.fixture
def browser(chromium: Any) -> Iterator[Any]:
    """The module's Chromium; the contexts a test opened (cookies, storage, pages still
    polling) are closed after it, so that no test sees another's."""
    yield chromium
    for context in chromium.contexts:
        context.close()


@pytest.fixture
def site(tmp_path: Path) -> Iterator[Site]:
    for url in migrated_database_url("sqlite", tmp_path):
        db = Database(url)
        tenant = make_tenant(db)
        with LiveServer(test_settings(url)) as server:
            live = Site(server, tenant, db)
            seed(live.api)
            yield live
            live.api.close()
        db.dispose()
