"""The server secret that seals site tokens: found wherever the server starts from, and a
server (or worker) whose secret cannot open the tokens it holds refuses to start, naming
``SEGMENTD_SECRET_KEY``; on both databases."""

from __future__ import annotations

import asyncio
import subprocess
from pathlib import Path

import httpx
import pytest
from fastapi import FastAPI

from segmentd.api.app import create_app
from segmentd.secrets import SecretMismatch, TokenKeys, secret_file_path
from segmentd.storage.db import Database
from segmentd.storage.sites import create_site
from tests.api.commandersact.test_commandersact import LOOKUP
from tests.cli.test_cli import SEGMENTD, Process, _env, parse_credentials, run_cli, serve, started  # noqa: F401
from tests.conftest import Tenant, test_settings

SITES = "/v1/sites"


@pytest.mark.slow
def test_a_server_started_from_another_directory_opens_its_tokens(
    db: Database,
    db_url: str,
    tmp_path: Path,
    started: list[Process],  # noqa: F811
) -> None:
    first_dir, second_dir = tmp_path / "first", tmp_path / "second"
    first_dir.mkdir()
    second_dir.mkdir()
    user, key = parse_credentials(run_cli(first_dir, "credentials", "create", "--database", db_url))
    server = serve(started, first_dir, "--database", db_url, "--no-worker")
    with httpx.Client(base_url=server.url, auth=(user, key), timeout=30) as http:
        made = http.post(SITES, json={"name": "shop"})
        assert made.status_code == 200, made.text
        site_id, token = made.json()["result"]["site_id"], made.json()["result"]["token"]
    assert server.terminate() in (0, -15), server.output()

    again = serve(started, second_dir, "--database", db_url, "--no-worker")
    with httpx.Client(base_url=again.url, auth=(user, key), timeout=30) as http:
        read = http.get(f"{SITES}/{site_id}/token")
        assert read.status_code == 200, read.text + again.output()
        assert read.json()["result"]["token"] == token
        params = {"site": site_id, "callback": "cb", "tcid": "1", "token": token}
        assert http.get(LOOKUP, params=params).text == "/**/cb([]);"
    assert again.terminate() in (0, -15), again.output()
    # Neither working directory holds a secret: it lives beside a SQLite file, or for
    # PostgreSQL in the user's data directory.
    for directory in (first_dir, second_dir):
        assert not [p for p in directory.iterdir() if p.name.endswith(".secret")]
    assert secret_file_path(db_url).exists()


def start_and_stop(app: FastAPI) -> None:
    """Run the app's lifespan: what uvicorn does at start and at shutdown."""

    async def run() -> None:
        async with app.router.lifespan_context(app):
            pass

    asyncio.run(run())


def _seal_a_token(db: Database, tenant: Tenant, secret: str) -> None:
    with db.write() as conn:
        create_site(conn, tenant.id, "shop", TokenKeys(secret))


def test_the_app_refuses_to_start_with_another_secret(
    db: Database, db_url: str, tenant: Tenant
) -> None:
    settings = test_settings(db_url)
    assert settings.secret_key
    _seal_a_token(db, tenant, settings.secret_key)
    start_and_stop(create_app(settings, start_worker=False))
    wrong = test_settings(db_url, secret_key="another-secret-key-than-the-one-that-sealed")
    with pytest.raises(SecretMismatch, match="SEGMENTD_SECRET_KEY"):
        start_and_stop(create_app(wrong, start_worker=False))


@pytest.mark.slow
@pytest.mark.parametrize("command", ["serve", "worker"])
@pytest.mark.parametrize("secret", ["another-secret-key-than-the-one-that-sealed", None])
def test_serve_and_worker_refuse_to_start_with_another_secret(
    db: Database, db_url: str, tenant: Tenant, tmp_path: Path, command: str, secret: str | None
) -> None:
    """With another SEGMENTD_SECRET_KEY, or with none (a new secret file)."""
    _seal_a_token(db, tenant, "the-secret-that-sealed-the-site-tokens")
    env = _env(SEGMENTD_SECRET_KEY=secret) if secret else _env()
    done = subprocess.run(
        [SEGMENTD, command, "--database", db_url],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        stdin=subprocess.DEVNULL,
    )
    output = done.stdout + done.stderr
    assert done.returncode == 1, output
    assert "SEGMENTD_SECRET_KEY" in output
    assert "Traceback" not in output
