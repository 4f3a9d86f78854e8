"""SIGKILL the server while clients upsert members in batches, start it again: every batch the
server acknowledged is there exactly once, no batch is half-written, and the segments that
follow members in real time agree with the members that survived."""

from __future__ import annotations

import sqlite3
import subprocess
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import pytest
import sqlalchemy as sa

from segmentd.storage import schema
from segmentd.storage.db import Database
from tests.conftest import wait_until
from tests.jobs.test_build_crash import API_KEY, API_USER, ServerProcess
from tests.support.factories import held

pytestmark = pytest.mark.slow

MEMBERS = "/v1/marketing/lists/members"
BATCH = 200  # good rows per batch; each batch also carries BAD_ROWS rows the server refuses
BAD_ROWS = 2
CLIENTS = 2
ACKED_BEFORE_KILL = 8
EVERYONE = {"relation": "and", "items": [{"field_name": "Batch", "op": ">=", "value": "0"}]}


def batch_rows(batch: int) -> list[dict[str, object]]:
    good = [
        {
            "email": f"b{batch}-m{i}@example.com",
            "name": f"Member {batch}/{i}",
            "fields": {"Batch": str(batch)},
            "tags": [f"batch{batch}"],
        }
        for i in range(BATCH)
    ]
    return good + [{"email": f"not-an-email-{batch}-{i}"} for i in range(BAD_ROWS)]


@dataclass
class Stream:
    """Batches posted by the clients: the acknowledged ones and the ones cut by the kill."""

    acked: set[int] = field(default_factory=set)
    unknown: set[int] = field(default_factory=set)
    wrong: list[str] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def post_until_cut(self, url: str, first: int, step: int) -> None:
        with httpx.Client(base_url=url, auth=(API_USER, API_KEY), timeout=60) as http:
            batch = first
            while True:
                body = {"update_existing": True, "members": batch_rows(batch)}
                try:
                    answer = http.post(MEMBERS, json=body)
                except httpx.TransportError:
                    with self.lock:
                        self.unknown.add(batch)  # sent, never answered: either outcome is fine
                    return
                result = answer.json().get("result", {}) if answer.status_code == 200 else {}
                with self.lock:
                    if result.get("created") == BATCH and len(result["errors"]) == BAD_ROWS:
                        self.acked.add(batch)
                    else:
                        self.wrong.append(f"batch {batch}: {answer.status_code} {answer.text}")
                        return
                batch += step


def members_by_batch(db: Database, tenant_id: int) -> dict[int, list[tuple[str, float, int]]]:
    """(email key, Batch value, tag count) of every stored member, by the batch its email names."""
    m, mt = schema.members.c, schema.member_tags.c
    tag_count = (
        sa.select(sa.func.count()).where(mt.member_id == m.id).correlate(schema.members)
    ).scalar_subquery()
    with db.read() as conn:
        rows = conn.execute(
            sa.select(m.email_key, m.n1, tag_count).where(m.tenant_id == tenant_id)
        ).all()
    found: dict[int, list[tuple[str, float, int]]] = {}
    for key, batch_value, tags in rows:
        batch = int(key.split("-", 1)[0][1:])
        found.setdefault(batch, []).append((key, batch_value, tags))
    return found


def published_members(db: Database, segment_id: str) -> list[int]:
    return held(db, segment_id)


def _prepare(url: str) -> str:
    """A number field and a segment of everyone with a value in it; the segment's id."""
    with httpx.Client(base_url=url, auth=(API_USER, API_KEY), timeout=30) as http:
        field_answer = http.post(
            "/v1/marketing/lists/fields", json={"field_name": "Batch", "field_type": 1}
        )
        assert field_answer.status_code == 200, field_answer.text
        segment = http.post(
            "/v1/marketing/lists/segments",
            json={"segment_name": "Everyone", "type": 0, "condition": EVERYONE},
        )
        assert segment.status_code == 200, segment.text
        segment_id: str = segment.json()["result"]["segment_id"]
        wait_until(lambda: _complete(http, segment_id), timeout=60)
    return segment_id


def _complete(http: httpx.Client, segment_id: str) -> bool:
    answer = http.get(f"/v1/marketing/lists/segments/{segment_id}/process")
    return answer.status_code == 200 and bool(answer.json()["result"]["complete"])


def test_sigkill_during_batch_upserts_loses_no_acknowledged_batch_and_halves_none(
    db_url: str,
    tmp_path: Path,
    children: list[subprocess.Popen[bytes]],
) -> None:
    db = Database(db_url)
    db.migrate()
    try:
        first = ServerProcess(db_url, tmp_path / "server.log", children)
        first.start()
        segment_id = _prepare(first.url)
        stream = Stream()
        clients = [
            threading.Thread(target=stream.post_until_cut, args=(first.url, i, CLIENTS))
            for i in range(CLIENTS)
        ]
        for client in clients:
            client.start()
        wait_until(lambda: len(stream.acked) >= ACKED_BEFORE_KILL or stream.wrong, timeout=120)
        time.sleep(0.013)  # land the kill somewhere inside the next requests
        first.kill()
        for client in clients:
            client.join(timeout=60)
        assert stream.wrong == []
        assert len(stream.unknown) == CLIENTS, "every client was cut mid-request"

        second = ServerProcess(db_url, tmp_path / "server.log", children)
        second.start()
        with db.read() as conn:
            tenant_id = conn.execute(sa.select(schema.credentials.c.tenant_id)).scalar_one()
        stored = members_by_batch(db, tenant_id)

        for batch in stream.acked:  # acknowledged: all there, once, with their values and tags
            rows = stored.get(batch, [])
            assert len(rows) == len({key for key, _, _ in rows}) == BATCH, batch
            assert all(value == batch and tags == 1 for _, value, tags in rows), batch
        for batch in stream.unknown:  # cut: all or nothing
            assert len(stored.get(batch, [])) in (0, BATCH), batch
        assert set(stored) <= stream.acked | stream.unknown  # nothing from nowhere

        with db.read() as conn:
            ids = set(
                conn.execute(
                    sa.select(schema.members.c.id).where(schema.members.c.tenant_id == tenant_id)
                ).scalars()
            )
            if db.is_sqlite:
                assert conn.exec_driver_sql("PRAGMA integrity_check").scalar_one() == "ok"
        members = published_members(db, segment_id)
        assert len(members) == len(set(members)) and set(members) == ids  # in step with members

        # The server takes writes again, and a retried cut batch lands exactly once.
        with httpx.Client(base_url=second.url, auth=(API_USER, API_KEY), timeout=60) as http:
            for batch in stream.unknown:
                body = {"update_existing": True, "members": batch_rows(batch)}
                assert http.post(MEMBERS, json=body).status_code == 200
        again = members_by_batch(db, tenant_id)
        assert all(len(again[batch]) == BATCH for batch in stream.acked | stream.unknown)
    finally:
        db.dispose()


def test_sqlite_acknowledged_writes_are_durable_and_serialized(tmp_path: Path) -> None:
    """WAL, synchronous=FULL (a commit survives power loss) and BEGIN IMMEDIATE for writes:
    a write transaction holds the write lock from its first statement, so a second writer
    waits at BEGIN instead of failing later with "database is locked"."""
    db = Database(f"sqlite:///{tmp_path / 'durable.db'}")
    db.migrate()
    try:
        for engine in (db.write_engine, db.read_engine):
            with engine.connect() as conn:
                assert conn.exec_driver_sql("PRAGMA journal_mode").scalar_one() == "wal"
                assert conn.exec_driver_sql("PRAGMA synchronous").scalar_one() == 2  # FULL
        other = sqlite3.connect(tmp_path / "durable.db", timeout=0, isolation_level=None)
        with db.write() as conn:
            conn.exec_driver_sql("SELECT 1")  # no write yet: the lock is already held
            with pytest.raises(sqlite3.OperationalError, match="locked"):
                other.execute("BEGIN IMMEDIATE")
        other.execute("BEGIN IMMEDIATE")  # free again once the write committed
        other.execute("ROLLBACK")
        other.close()
    finally:
        db.dispose()
