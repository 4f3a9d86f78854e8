"""SIGKILL the server in the middle of a build, start it again: the build finishes exactly right."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path
from typing import Any

import httpx
import pytest
import sqlalchemy as sa

from segmentd.domain.emails import email_domain, email_key
from segmentd.storage import schema
from segmentd.storage.catalog import catalog_changed
from segmentd.storage.db import Database
from segmentd.storage.membership_history import read_changes
from segmentd.storage.tenants import default_list_id, ensure_credential
from segmentd.timefmt import now
from tests.conftest import free_port, wait_until
from tests.jobs.test_builds import add_segment
from tests.support.factories import held, replayed

pytestmark = pytest.mark.slow

MEMBERS = 30_000
API_USER, API_KEY = "crash_test", "crash-test-key-0123456789"
CONDITION = {"relation": "and", "items": [{"field_name": "Score", "op": ">=", "value": "40"}]}


def score(i: int) -> float:
    return float(i * 37 % 100)


def seed(db: Database, count: int = MEMBERS) -> tuple[int, set[int]]:
    """The tenant of the server's credential, a Score field and members: (tenant, expected ids)."""
    with db.write() as conn:
        tenant_id = ensure_credential(conn, API_USER, API_KEY)
        list_id = default_list_id(conn, tenant_id)
        conn.execute(
            sa.insert(schema.fields).values(
                tenant_id=tenant_id,
                name="Score",
                name_key="score",
                field_type=1,
                format="0",
                visible=True,
                slot=1,
                created_at=now(),
            )
        )
        catalog_changed(conn, tenant_id)  # as the storage functions do
        rows = [_member(tenant_id, list_id, i) for i in range(count)]
        conn.execute(sa.insert(schema.members), rows)
        found = conn.execute(
            sa.select(schema.members.c.id, schema.members.c.n1).where(
                schema.members.c.tenant_id == tenant_id
            )
        ).all()
    return tenant_id, {member_id for member_id, value in found if value >= 40}


def _member(tenant_id: int, list_id: int, i: int) -> dict[str, Any]:
    email = f"m{i}@crash{i % 7}.test"
    return {
        "tenant_id": tenant_id,
        "list_id": list_id,
        "email": email,
        "email_key": email_key(email),
        "domain": email_domain(email),
        "created_at": now(),
        "updated_at": now(),
        "n1": score(i),
    }


def spawn(command: list[str], log_path: Path) -> subprocess.Popen[bytes]:
    env = {
        **os.environ,
        "SEGMENTD_BUILD_CHUNK_SIZE": "100",
        "SEGMENTD_LEASE_SECONDS": "2",
        "SEGMENTD_WORKER_POLL_SECONDS": "0.05",
        "SEGMENTD_API_USER": API_USER,
        "SEGMENTD_API_KEY": API_KEY,
        "SEGMENTD_SECRET_KEY": "crash-test-secret",
    }
    with log_path.open("ab") as log:
        return subprocess.Popen(command, env=env, stdout=log, stderr=log)


class ServerProcess:
    """``segmentd serve`` as a child process, so it can really be killed."""

    def __init__(
        self, db_url: str, log_path: Path, children: list[subprocess.Popen[bytes]]
    ) -> None:
        self.db_url, self.log_path, self.children = db_url, log_path, children
        self.port = free_port()
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> None:
        command = [sys.executable, "-m", "segmentd", "serve", "--port", str(self.port),
                   "--database", self.db_url]  # fmt: skip
        self.process = spawn(command, self.log_path)
        self.children.append(self.process)
        wait_until(self._healthy, timeout=30, interval=0.1)

    def _healthy(self) -> bool:
        assert self.process is not None and self.process.poll() is None, self.log_path.read_text()
        try:
            return httpx.get(f"{self.url}/healthz", timeout=1).status_code == 200
        except httpx.TransportError:
            return False

    def kill(self) -> None:
        if self.process is not None and self.process.poll() is None:
            os.kill(self.process.pid, signal.SIGKILL)
            self.process.wait(timeout=10)


def build_state(db: Database, segment_id: str) -> tuple[int, int, int]:
    """(status, percent, cursor of the live job) straight from the database."""
    with db.read() as conn:
        status, percent = conn.execute(
            sa.select(schema.segments.c.status, schema.segments.c.percent).where(
                schema.segments.c.id == segment_id
            )
        ).one()
        cursor = conn.execute(
            sa.select(sa.func.max(schema.build_jobs.c.cursor)).where(
                schema.build_jobs.c.segment_id == segment_id
            )
        ).scalar_one()
    return int(status), int(percent), int(cursor or 0)


def published(db: Database, segment_id: str) -> list[int]:
    return held(db, segment_id)


def test_sigkill_mid_build_then_restart_finishes_with_exactly_the_right_members(
    db_url: str, tmp_path: Path, children: list[subprocess.Popen[bytes]]
) -> None:
    db = Database(db_url)
    db.migrate()
    try:
        tenant_id, expected = seed(db)
        first = ServerProcess(db_url, tmp_path / "server.log", children)
        first.start()

        with httpx.Client(base_url=first.url, auth=(API_USER, API_KEY), timeout=30) as http:
            answer = http.post(
                "/v1/marketing/lists/segments",
                json={"segment_name": "high scores", "type": 0, "condition": CONDITION},
            )
        assert answer.status_code == 200, answer.text
        segment_id = answer.json()["result"]["segment_id"]

        wait_until(lambda: 1 <= build_state(db, segment_id)[1] <= 60, timeout=60, interval=0.005)
        first.kill()

        status, percent, cursor = build_state(db, segment_id)
        assert status == 1 and percent < 100 and cursor > 0, "the build was not cut mid-way"
        assert published(db, segment_id) == []  # nothing half-built is visible
        assert replayed(db, tenant_id, segment_id) == set()  # nor recorded in the history

        second = ServerProcess(db_url, tmp_path / "server.log", children)
        second.start()
        with httpx.Client(base_url=second.url, auth=(API_USER, API_KEY), timeout=30) as http:
            wait_until(lambda: _complete(http, segment_id), timeout=120, interval=0.1)
            shown = http.get(f"/v1/marketing/lists/segments/{segment_id}").json()["result"]

        members = published(db, segment_id)
        assert len(members) == len(set(members)) == len(expected)  # no duplicates
        assert set(members) == expected  # none missing, none extra
        # The history has each member entering once: none lost, none invented.
        with db.read() as conn:
            entries = read_changes(
                conn, tenant_id, after_seq=0, limit=10 * MEMBERS, segment_id=segment_id
            )
        assert sorted(c.member_id for c in entries) == sorted(expected)
        assert {(c.change, c.cause) for c in entries} == {("entered", "build")}
        assert (shown["status"], shown["member_total"]) == ("2", len(expected))
        with db.read() as conn:
            attempts = conn.execute(
                sa.select(schema.build_jobs.c.attempts, schema.build_jobs.c.state).where(
                    schema.build_jobs.c.segment_id == segment_id
                )
            ).all()
            assert [tuple(row) for row in attempts] == [(2, "done")]  # resumed, not restarted
            if db.is_sqlite:
                assert conn.exec_driver_sql("PRAGMA integrity_check").scalar_one() == "ok"
    finally:
        db.dispose()


def _complete(http: httpx.Client, segment_id: str) -> bool:
    answer = http.get(f"/v1/marketing/lists/segments/{segment_id}/process")
    assert answer.status_code == 200, answer.text
    return bool(answer.json()["result"]["complete"])


def test_the_standalone_worker_builds_and_exits_on_sigterm(
    db_url: str, tmp_path: Path, children: list[subprocess.Popen[bytes]]
) -> None:
    db = Database(db_url)
    db.migrate()
    try:
        tenant_id, expected = seed(db, count=1000)
        segment_id = add_segment(db, tenant_id, CONDITION)
        log_path = tmp_path / "worker.log"
        worker = spawn([sys.executable, "-m", "segmentd", "worker", "--database", db_url], log_path)
        children.append(worker)

        wait_until(lambda: build_state(db, segment_id)[0] == 2, timeout=60, interval=0.05)
        assert set(published(db, segment_id)) == expected

        worker.send_signal(signal.SIGTERM)
        assert worker.wait(timeout=10) == 0, log_path.read_text()
    finally:
        db.dispose()
