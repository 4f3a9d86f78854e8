"""Shared fixtures: real SQLite files, a real PostgreSQL server, the real app over HTTP.

The ``server``/``client``/``anon`` fixtures run the real app in this process (its lifespan and
build worker included) and reach it through an ASGI transport: no port, no uvicorn, a start
and stop in milliseconds. Tests of the server itself (headers on the wire, keep-alive, proxy
headers, limits on the wire, browsers, curl, subprocesses) start ``LiveServer``: uvicorn on a
port.

PostgreSQL comes from ``SEGMENTD_TEST_POSTGRES_URL`` (default: the local server). Without it
the PostgreSQL tests skip, except under CI (``CI=true``), where they fail instead.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import anyio.from_thread
import httpx
import pytest
import sqlalchemy as sa
import uvicorn

from segmentd.api.app import create_app
from segmentd.cli import proxy_options
from segmentd.settings import Settings
from segmentd.storage.db import Database
from segmentd.storage.tenants import create_credential, create_tenant

POSTGRES_ADMIN_URL = os.environ.get(
    "SEGMENTD_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
)
IN_CI = os.environ.get("CI", "").lower() == "true"
BACKENDS = ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)]

# Modules that take a large share of the suite's time, run first: under `--dist load` the
# first process takes them on at once and the others share out the rest meanwhile, instead of
# one process starting them near the end while the others run out of tests.
SLOW_MODULES = ("tests/api/test_schemathesis.py",)

_postgres_checked: bool | None = None


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    # A stable sort: each module keeps its order, and so the sharing of its fixtures.
    items.sort(key=lambda item: item.nodeid.split("::")[0] not in SLOW_MODULES)


def postgres_available() -> bool:
    global _postgres_checked
    if _postgres_checked is None:
        try:
            engine = sa.create_engine(POSTGRES_ADMIN_URL)
            with engine.connect() as conn:
                conn.execute(sa.text("select 1"))
            engine.dispose()
            _postgres_checked = True
        except Exception:
            _postgres_checked = False
    return _postgres_checked


def _require_postgres() -> None:
    if postgres_available():
        return
    if IN_CI:
        pytest.fail(f"PostgreSQL is required in CI but {POSTGRES_ADMIN_URL} is unreachable")
    pytest.skip("PostgreSQL is not reachable (set SEGMENTD_TEST_POSTGRES_URL)")


_admin_engine: sa.Engine | None = None


def _admin() -> sa.Engine:
    """One pooled connection to the server's maintenance database for every CREATE/DROP."""
    global _admin_engine
    if _admin_engine is None:
        _admin_engine = sa.create_engine(POSTGRES_ADMIN_URL, isolation_level="AUTOCOMMIT")
    return _admin_engine


def _postgres_url_of(name: str) -> str:
    return sa.make_url(POSTGRES_ADMIN_URL).set(database=name).render_as_string(hide_password=False)


def _create_postgres(name: str, template: str | None = None) -> str:
    clause = f' TEMPLATE "{template}"' if template else ""
    with _admin().connect() as conn:
        conn.execute(sa.text(f'CREATE DATABASE "{name}"{clause}'))
    return _postgres_url_of(name)


def _drop_postgres(name: str) -> None:
    with _admin().connect() as conn:
        conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


def _fresh_postgres_url(template: str | None = None) -> Iterator[str]:
    """A new PostgreSQL database, empty or a copy of ``template``; dropped afterwards."""
    name = f"segmentd_test_{uuid.uuid4().hex[:12]}"
    url = _create_postgres(name, template)
    try:
        yield url
    finally:
        _drop_postgres(name)


class _Templates:
    """Migrated databases made once per session (per xdist worker) on first use: a test's
    database is a copy, which is much cheaper than running the migrations again."""

    def __init__(self) -> None:
        self.directory: Path | None = None
        self._sqlite: Path | None = None
        self._postgres: str | None = None

    def sqlite(self) -> Path:
        if self._sqlite is None:
            assert self.directory is not None, "the session has not started"
            path = self.directory / "segmentd.db"
            database = Database(f"sqlite:///{path}")
            database.migrate()
            database.dispose()  # the last connection's close folds the WAL into the file
            self._sqlite = path
        return self._sqlite

    def postgres(self) -> str:
        """The template's name. PostgreSQL copies a database only while nobody is connected
        to it: the migration's connections are closed before anyone copies it."""
        if self._postgres is None:
            name = f"segmentd_template_{uuid.uuid4().hex[:12]}"
            database = Database(_create_postgres(name))
            try:
                database.migrate()
            finally:
                database.dispose()
            self._postgres = name
        return self._postgres

    def drop(self) -> None:
        if self._postgres is not None:
            _drop_postgres(self._postgres)
            self._postgres = None


_templates = _Templates()


@pytest.fixture(autouse=True, scope="session")
def _database_templates(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    _templates.directory = tmp_path_factory.mktemp("template")
    yield
    _templates.drop()
    if _admin_engine is not None:
        _admin_engine.dispose()


def module_database_url(backend: str, directory: Any) -> Iterator[str]:
    """An empty database of its own (no tables) for a module-scoped fixture: a SQLite file in
    ``directory``, or a new PostgreSQL database (dropped afterwards)."""
    if backend == "sqlite":
        yield f"sqlite:///{directory / 'segmentd.db'}"
        return
    _require_postgres()
    yield from _fresh_postgres_url()


def migrated_database_url(backend: str, directory: Any) -> Iterator[str]:
    """A migrated database of its own for a module-scoped fixture: a copy of the session's
    template, as a SQLite file in ``directory`` or a new PostgreSQL database (dropped
    afterwards)."""
    if backend == "sqlite":
        path = directory / "segmentd.db"
        shutil.copyfile(_templates.sqlite(), path)
        yield f"sqlite:///{path}"
        return
    _require_postgres()
    yield from _fresh_postgres_url(_templates.postgres())


@pytest.fixture(autouse=True, scope="session")
def _user_data_dir(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    """Secret files of databases without a file of their own (PostgreSQL) go to the user's
    data directory: a temporary one for the tests and the processes they start."""
    previous = os.environ.get("XDG_DATA_HOME")
    os.environ["XDG_DATA_HOME"] = str(tmp_path_factory.mktemp("user-data"))
    yield
    if previous is None:
        os.environ.pop("XDG_DATA_HOME", None)
    else:
        os.environ["XDG_DATA_HOME"] = previous


@pytest.fixture(scope="session")
def _postgres_session() -> Iterator[tuple[str, sa.Engine]]:
    """One migrated PostgreSQL database for the session (a copy of the template), and a pooled
    engine to empty it: emptying it for each test is cheaper than a copy per test (see
    docs/performance.md)."""
    _require_postgres()
    for url in _fresh_postgres_url(_templates.postgres()):
        engine = sa.create_engine(url, pool_pre_ping=True)  # a test may cut its connections
        yield url, engine
        engine.dispose()


def _empty_postgres(engine: sa.Engine) -> None:
    # DELETE, not TRUNCATE: on tables this small it avoids new files and fsyncs per table.
    with engine.begin() as conn:
        tables = conn.execute(
            sa.text(
                "SELECT tablename FROM pg_tables WHERE schemaname = 'public' "
                "AND tablename <> 'alembic_version'"
            )
        ).scalars()
        for name in tables:
            conn.execute(sa.text(f'DELETE FROM "{name}"'))
        sequences = conn.execute(
            sa.text("SELECT sequencename FROM pg_sequences WHERE schemaname = 'public'")
        ).scalars()
        for name in sequences:
            conn.execute(sa.text(f'ALTER SEQUENCE "{name}" RESTART'))


@pytest.fixture(params=BACKENDS)
def db_url(request: pytest.FixtureRequest, tmp_path: Any) -> Iterator[str]:
    """An empty, migrated database URL: a copy of the session's migrated SQLite template, or
    the session's PostgreSQL database, emptied."""
    if request.param == "sqlite":
        path = tmp_path / "segmentd.db"
        shutil.copyfile(_templates.sqlite(), path)
        yield f"sqlite:///{path}"
        return
    _require_postgres()
    url, engine = request.getfixturevalue("_postgres_session")
    _empty_postgres(engine)
    yield url


@pytest.fixture
def db(db_url: str) -> Iterator[Database]:
    """A migrated Database on each backend."""
    database = Database(db_url)  # already migrated: a copy of the template
    yield database
    database.dispose()


@dataclass
class Tenant:
    id: int
    api_user: str
    api_key: str

    @property
    def auth(self) -> tuple[str, str]:
        return (self.api_user, self.api_key)


def make_tenant(db: Database, name: str = "acme") -> Tenant:
    with db.write() as conn:
        tenant_id = create_tenant(conn, name)
        user, key = create_credential(conn, tenant_id)
    return Tenant(tenant_id, user, key)


@pytest.fixture
def tenant(db: Database) -> Tenant:
    return make_tenant(db)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class LiveServer:
    """The real app served by uvicorn on a loopback port, in a thread."""

    def __init__(self, settings: Settings, start_worker: bool = True) -> None:
        self.app = create_app(settings, start_worker=start_worker)
        self.port = 0  # the system's choice, known once listening: no race between test processes
        config = uvicorn.Config(
            self.app,
            host="127.0.0.1",
            port=0,
            log_level="warning",
            **proxy_options(settings),  # as ``segmentd serve``
        )
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self.server.run, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def __enter__(self) -> LiveServer:
        self.thread.start()
        deadline = time.monotonic() + 20
        while not self.server.started:
            if time.monotonic() > deadline or not self.thread.is_alive():
                raise RuntimeError("the test server did not start")
            time.sleep(0.01)
        self.port = int(self.server.servers[0].sockets[0].getsockname()[1])
        return self

    def __exit__(self, *_exc: object) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=20)

    def client(self, **options: Any) -> httpx.Client:
        """An httpx client of this server; ``options`` as for ``httpx.Client``."""
        options.setdefault("timeout", 30)
        return httpx.Client(base_url=self.url, **options)


class _AppTransport(httpx.BaseTransport):
    """Sends each request to the app on the server's event loop (the portal's thread) and
    returns the whole answer; the client address is loopback, as with uvicorn."""

    def __init__(self, app: Any, portal: anyio.from_thread.BlockingPortal) -> None:
        self._asgi = httpx.ASGITransport(
            app, raise_app_exceptions=False, client=("127.0.0.1", 50000)
        )
        self._portal = portal

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        request.read()  # a body the ASGI transport can also read asynchronously
        timeout = request.extensions.get("timeout", {}).get("read")
        try:
            return self._portal.call(self._round_trip, request, timeout)
        except TimeoutError:
            raise httpx.ReadTimeout("the app did not answer in time", request=request) from None

    async def _round_trip(self, request: httpx.Request, timeout: float | None) -> httpx.Response:
        with anyio.fail_after(timeout):
            response = await self._asgi.handle_async_request(request)
            body = await response.aread()
        return httpx.Response(
            response.status_code, headers=response.headers, stream=httpx.ByteStream(body)
        )


class AppServer:
    """The real app in this process: its lifespan (migration, build and import workers) runs
    on an event loop in a thread, as under uvicorn; ``client()`` talks to it without a socket."""

    url = "http://testserver"

    def __init__(self, settings: Settings, start_worker: bool = True) -> None:
        self.app = create_app(settings, start_worker=start_worker)
        self._stack = ExitStack()

    def __enter__(self) -> AppServer:
        with ExitStack() as stack:
            self.portal = stack.enter_context(anyio.from_thread.start_blocking_portal())
            lifespan = self.app.router.lifespan_context(self.app)
            stack.enter_context(self.portal.wrap_async_context_manager(lifespan))
            self._stack = stack.pop_all()
        return self

    def __exit__(self, *_exc: object) -> None:
        self._stack.close()

    def client(self, **options: Any) -> httpx.Client:
        """An httpx client of this app; ``options`` as for ``httpx.Client``."""
        options.setdefault("timeout", 30)
        return httpx.Client(
            base_url=self.url,
            transport=_AppTransport(self.app, self.portal),
            trust_env=False,
            **options,
        )


def test_settings(db_url: str, **overrides: Any) -> Settings:
    values: dict[str, Any] = {
        "database_url": db_url,
        # Builds and imports queued in the process wake their worker at once
        # (storage.wakeups); the poll finds what other processes and the clock make due.
        "worker_poll_seconds": 0.1,
        "build_chunk_size": 100,
        "secret_key": "test-secret-key-for-sealing-site-tokens",
    }
    values.update(overrides)
    return Settings(**values)


test_settings.__test__ = False  # type: ignore[attr-defined]  # a helper, not a test


@pytest.fixture
def server(db: Database, db_url: str) -> Iterator[AppServer]:
    """The app in this process, over the same database as ``db`` (worker running)."""
    with AppServer(test_settings(db_url)) as app:
        yield app


@pytest.fixture
def client(server: AppServer, tenant: Tenant) -> Iterator[httpx.Client]:
    """An HTTP client authenticated as ``tenant``."""
    with server.client(auth=tenant.auth) as http:
        yield http


@pytest.fixture
def anon(server: AppServer) -> Iterator[httpx.Client]:
    """An HTTP client without credentials."""
    with server.client() as http:
        yield http


@pytest.fixture
def children() -> Iterator[list[subprocess.Popen[bytes]]]:
    """Every process the test starts; all are killed at teardown, whatever happened."""
    made: list[subprocess.Popen[bytes]] = []
    yield made
    for process in made:
        if process.poll() is None:
            process.kill()
            process.wait(timeout=10)


def wait_until(predicate: Callable[[], Any], timeout: float = 30, interval: float = 0.05) -> Any:
    deadline = time.monotonic() + timeout
    while True:
        result = predicate()
        if result:
            return result
        if time.monotonic() > deadline:
            raise AssertionError("condition not met in time")
        time.sleep(interval)


def wait_built(http: httpx.Client, segment_id: str, timeout: float = 60) -> dict[str, Any]:
    """Poll ``/process`` until the segment's build is complete; return the segment."""

    def done() -> bool:
        answer = http.get(f"/v1/marketing/lists/segments/{segment_id}/process")
        assert answer.status_code == 200, answer.text
        return bool(answer.json()["result"]["complete"])

    wait_until(done, timeout)
    answer = http.get(f"/v1/marketing/lists/segments/{segment_id}")
    assert answer.status_code == 200, answer.text
    result: dict[str, Any] = answer.json()["result"]
    return result
