"""The ``segmentd`` command, run as a real process: serve, worker, credentials."""

from __future__ import annotations

import ast
import os
import re
import signal
import subprocess
import sys
import time
import tomllib
from collections.abc import Iterator
from importlib.metadata import packages_distributions
from pathlib import Path

import httpx
import pytest
import sqlalchemy as sa

from segmentd.storage.db import Database
from segmentd.storage.schema import credentials

# Aliased: a module-level name starting with test_ would be collected as a test.
from tests.conftest import LiveServer, free_port, wait_until
from tests.conftest import test_settings as settings_for

ROOT = Path(__file__).resolve().parents[2]
SEGMENTD = str(Path(sys.executable).with_name("segmentd"))
SEGMENTS = "/v1/marketing/lists/segments"
START_TIMEOUT = 60.0
STOP_TIMEOUT = 30.0


def _env(**extra: str) -> dict[str, str]:
    """The test's environment without SEGMENTD_* settings, plus ``extra``."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("SEGMENTD_")}
    env.update(extra)
    return env


class Process:
    """A ``segmentd`` sub-command running in the background, its output in a log file."""

    def __init__(self, args: list[str], cwd: Path, env: dict[str, str]) -> None:
        self.log_path = cwd / f"segmentd-{time.monotonic_ns()}.log"
        self._log = self.log_path.open("wb")
        self.proc = subprocess.Popen(
            [SEGMENTD, *args], cwd=cwd, env=env, stdout=self._log, stderr=subprocess.STDOUT
        )

    def output(self) -> str:
        if not self._log.closed:
            self._log.flush()
        return self.log_path.read_text(errors="replace")

    def running(self) -> bool:
        return self.proc.poll() is None

    def terminate(self) -> int:
        """SIGTERM, then the exit code (killed, and the test failed, if it hangs)."""
        if self.running():
            self.proc.send_signal(signal.SIGTERM)
        try:
            return self.proc.wait(STOP_TIMEOUT)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
            raise AssertionError(f"segmentd ignored SIGTERM:\n{self.output()}") from None
        finally:
            self._log.close()


class Server(Process):
    """``segmentd serve`` on a free loopback port, started and answering /healthz."""

    def __init__(self, args: list[str], cwd: Path, env: dict[str, str]) -> None:
        self.port = free_port()
        super().__init__(
            ["serve", "--host", "127.0.0.1", "--port", str(self.port), *args], cwd, env
        )
        self.url = f"http://127.0.0.1:{self.port}"
        self._wait_ready()

    def _wait_ready(self) -> None:
        deadline = time.monotonic() + START_TIMEOUT
        while time.monotonic() < deadline:
            if not self.running():
                raise AssertionError(f"segmentd serve exited early:\n{self.output()}")
            try:
                if httpx.get(f"{self.url}/healthz", timeout=2).status_code == 200:
                    return
            except httpx.TransportError:
                pass
            time.sleep(0.1)
        self.terminate()
        raise AssertionError(f"segmentd serve did not answer in time:\n{self.output()}")


def stopped_cleanly(server: Server) -> bool:
    """SIGTERM ends serve after a graceful shutdown.

    uvicorn re-raises the signal once shut down, so the exit status says "terminated by
    SIGTERM" (what service managers expect), not 0.
    """
    code = server.terminate()
    return code in (0, -signal.SIGTERM) and "Application shutdown complete" in server.output()


@pytest.fixture
def started(tmp_path: Path) -> Iterator[list[Process]]:
    """Processes a test starts; whatever is still running at the end gets SIGTERM."""
    processes: list[Process] = []
    yield processes
    for process in processes:
        if process.running():
            process.terminate()


def serve(started: list[Process], cwd: Path, *args: str, **env: str) -> Server:
    server = Server(list(args), cwd, _env(**env))
    started.append(server)
    return server


def run_cli(cwd: Path, *args: str, **env: str) -> str:
    done = subprocess.run(
        [SEGMENTD, *args],
        cwd=cwd,
        env=_env(**env),
        capture_output=True,
        text=True,
        timeout=120,
        stdin=subprocess.DEVNULL,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    return done.stdout


def parse_credentials(output: str) -> tuple[str, str]:
    user = re.search(r"api_user=(\S+)", output)
    key = re.search(r"api_key=(\S+)", output)
    assert user and key, output
    return user[1], key[1]


def segments_status(url: str, auth: tuple[str, str]) -> httpx.Response:
    return httpx.get(f"{url}{SEGMENTS}", auth=auth, timeout=30)


# --- serve ---------------------------------------------------------------------------------


@pytest.mark.slow
def test_serve_answers_with_the_credential_from_the_environment(
    db_url: str, tmp_path: Path, started: list[Process]
) -> None:
    server = serve(
        started, tmp_path, "--database", db_url, SEGMENTD_API_USER="ops", SEGMENTD_API_KEY="k1" * 16
    )

    good = segments_status(server.url, ("ops", "k1" * 16))
    assert good.status_code == 200, good.text
    assert good.json()["result"] == []

    wrong = segments_status(server.url, ("ops", "wrong"))
    assert wrong.status_code == 401
    assert wrong.json()["code"] == 30000

    spec = httpx.get(f"{server.url}/openapi.json", timeout=30)
    assert spec.status_code == 200
    assert spec.json()["openapi"].startswith("3.")
    assert SEGMENTS in spec.json()["paths"]

    assert stopped_cleanly(server), server.output()


@pytest.mark.slow
@pytest.mark.parametrize("how", ["flag", "environment", "default"])
def test_serve_finds_its_database(how: str, tmp_path: Path, started: list[Process]) -> None:
    """--database wins, else SEGMENTD_DATABASE_URL, else ./segmentd.db in the working directory."""
    flag_db, env_db = tmp_path / "flag.db", tmp_path / "env.db"
    args = ["--database", f"sqlite:///{flag_db}"] if how == "flag" else []
    env = {"SEGMENTD_DATABASE_URL": f"sqlite:///{env_db}"} if how != "default" else {}
    expected = {"flag": flag_db, "environment": env_db, "default": tmp_path / "segmentd.db"}[how]

    server = serve(
        started, tmp_path, *args, SEGMENTD_API_USER="ops", SEGMENTD_API_KEY="secret", **env
    )
    assert stopped_cleanly(server), server.output()

    database = Database(f"sqlite:///{expected}")
    with database.read() as conn:
        users = conn.execute(sa.select(credentials.c.api_user)).scalars().all()
    database.dispose()
    assert users == ["ops"]
    others = {flag_db, env_db, tmp_path / "segmentd.db"} - {expected}
    assert not any(path.exists() for path in others)


@pytest.mark.slow
def test_serve_demo_prints_credentials_that_work_every_time(
    tmp_path: Path, started: list[Process]
) -> None:
    """``make run`` is ``serve --demo``: run it twice on the same database, as a user would."""
    database = f"sqlite:///{tmp_path / 'demo.db'}"
    for _ in range(2):
        server = serve(started, tmp_path, "--demo", "--database", database)
        auth = parse_credentials(server.output())
        members = httpx.get(f"{server.url}/v1/marketing/lists/members", auth=auth, timeout=30)
        assert members.status_code == 200, members.text
        assert members.json()["total"] > 0
        assert segments_status(server.url, auth).status_code == 200
        assert stopped_cleanly(server), server.output()


def test_serve_replaces_the_key_of_an_existing_api_user(db_url: str) -> None:
    """A new SEGMENTD_API_KEY for the same SEGMENTD_API_USER takes over from the old one."""
    for key in ("first-key", "second-key"):
        settings = settings_for(db_url, api_user="ops", api_key=key)
        with LiveServer(settings, start_worker=False) as live:
            assert segments_status(live.url, ("ops", key)).status_code == 200
            if key == "second-key":
                assert segments_status(live.url, ("ops", "first-key")).status_code == 401


# --- credentials ---------------------------------------------------------------------------


@pytest.mark.slow
def test_credentials_create_prints_a_key_that_authenticates(db_url: str, tmp_path: Path) -> None:
    user, key = parse_credentials(run_cli(tmp_path, "credentials", "create", "--database", db_url))
    other_user, _ = parse_credentials(
        run_cli(tmp_path, "credentials", "create", "--database", db_url)
    )
    assert other_user != user

    database = Database(db_url)
    with database.read() as conn:
        rows = conn.execute(sa.select(credentials)).mappings().all()
    database.dispose()
    stored = " ".join(str(value) for row in rows for value in row.values())
    assert key not in stored  # only a digest of the key is kept

    with LiveServer(settings_for(db_url), start_worker=False) as live:
        assert segments_status(live.url, (user, key)).status_code == 200
        assert segments_status(live.url, (user, key + "x")).status_code == 401


# --- worker --------------------------------------------------------------------------------


@pytest.mark.slow
def test_worker_runs_until_sigterm(tmp_path: Path, started: list[Process]) -> None:
    worker = Process(["worker", "--database", f"sqlite:///{tmp_path / 'w.db'}"], tmp_path, _env())
    started.append(worker)
    wait_until(lambda: "running" in worker.output() or not worker.running(), timeout=START_TIMEOUT)
    assert worker.running(), worker.output()
    assert worker.terminate() == 0, worker.output()


@pytest.mark.slow
def test_separate_worker_builds_segments_for_a_server_without_one(
    db_url: str, tmp_path: Path, started: list[Process]
) -> None:
    server = serve(
        started, tmp_path, "--database", db_url, "--no-worker",
        SEGMENTD_API_USER="ops", SEGMENTD_API_KEY="secret",
    )  # fmt: skip
    with httpx.Client(base_url=server.url, auth=("ops", "secret"), timeout=30) as http:
        members = [{"email": f"m{i}@example.com", "name": f"M{i}"} for i in range(3)]
        upsert = http.post(
            "/v1/marketing/lists/members", json={"members": members, "update_existing": True}
        )
        assert upsert.status_code == 200, upsert.text
        condition = {
            "relation": "and",
            "items": [{"field_name": "Name", "op": "==", "value": "m1"}],
        }
        created = http.post(
            SEGMENTS, json={"segment_name": "one", "type": 0, "condition": condition}
        )
        assert created.status_code == 200, created.text
        segment_id = created.json()["result"]["segment_id"]

        def process() -> dict[str, object]:
            answer = http.get(f"{SEGMENTS}/{segment_id}/process")
            assert answer.status_code == 200, answer.text
            result: dict[str, object] = answer.json()["result"]
            return result

        time.sleep(0.5)
        assert process()["complete"] is False  # nobody builds while no worker runs

        worker = Process(["worker", "--database", db_url], tmp_path, _env())
        started.append(worker)
        wait_until(lambda: process()["complete"], timeout=START_TIMEOUT)
        assert http.get(f"{SEGMENTS}/{segment_id}").json()["result"]["member_total"] == 1
    assert worker.terminate() == 0, worker.output()


# --- the command itself --------------------------------------------------------------------


def test_help_lists_the_commands(tmp_path: Path) -> None:
    output = run_cli(tmp_path, "--help")
    for command in ("serve", "worker", "credentials"):
        assert command in output


# --- packaging -----------------------------------------------------------------------------


_REQUIREMENT = re.compile(r"([A-Za-z0-9][A-Za-z0-9._-]*)(\[[^\]]*\])?(.*)")


def canonical(name: str) -> str:
    """PEP 503 names: ``Jinja2`` and ``jinja2``, ``swagger_ui`` and ``swagger-ui`` are one."""
    return re.sub(r"[-_.]+", "-", name).lower()


def requirement(line: str) -> tuple[str, str]:
    """(canonical name, version specifier) of a requirement line."""
    match = _REQUIREMENT.fullmatch(line.replace(" ", ""))
    assert match, line
    return canonical(match[1]), match[3]


def _declared(*extras: str) -> set[str]:
    """Names of the dependencies, plus those of ``extras`` ("*": every extra)."""
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    optional: dict[str, list[str]] = project.get("optional-dependencies", {})
    lines = [*project["dependencies"]]
    for extra in optional if "*" in extras else extras:
        lines += optional[extra]
    return {requirement(line)[0] for line in lines}


def _third_party_imports(folder: Path) -> set[str]:
    modules = set()
    for path in folder.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Import):
                modules |= {alias.name.split(".")[0] for alias in node.names}
            elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
                modules.add(node.module.split(".")[0])
    ours = {"segmentd", "tests", "bench"}
    return {m for m in modules if m not in sys.stdlib_module_names and m not in ours}


# src may import the analytics extra (chdb): only where it is needed, and without it
# ``analytics.engine`` says which extra to install instead of failing at import.
@pytest.mark.parametrize(
    ("folder", "extras"),
    [("src/segmentd", ("analytics",)), ("tests", ("test",)), ("bench", ("*",))],
)
def test_every_imported_package_is_a_pinned_dependency(folder: str, extras: tuple[str]) -> None:
    """A clean install (CI) has only what pyproject.toml names: an undeclared import breaks it."""
    declared = _declared(*extras)
    owners = packages_distributions()
    for module in sorted(_third_party_imports(ROOT / folder)):
        distributions = {canonical(d) for d in owners.get(module, [module])}
        assert distributions & declared, f"{folder} imports {module}: add it to pyproject.toml"


def test_dependencies_are_pinned_exactly() -> None:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    extras = project.get("optional-dependencies", {}).values()
    for line in [*project["dependencies"], *(line for extra in extras for line in extra)]:
        assert re.fullmatch(r"==[0-9][0-9a-z.]*", requirement(line)[1]), line
