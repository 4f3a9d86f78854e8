"""Uploads no import was started from are removed once older than a day, with real files in
the upload directory and the time given explicitly; what an import still reads, what is
younger, and the other files beside them (rejected rows) stay."""

from __future__ import annotations

import os
import time
from pathlib import Path

from segmentd.imports.import_jobs import ImportOptions, ImportState, Kind, Origin, create_job
from segmentd.imports.import_worker import ImportWorker
from segmentd.imports.source import fingerprint
from segmentd.imports.uploads import (
    UNUSED_UPLOAD_SECONDS,
    new_upload_path,
    remove_unused_uploads,
)
from segmentd.settings import Settings
from segmentd.storage.db import Database
from segmentd.storage.schema import import_jobs
from segmentd.storage.tenants import default_list_id
from tests.conftest import Tenant, test_settings

NOW = 1_900_000_000.0  # the explicit clock of these tests


def _upload(settings: Settings, tenant: Tenant, written_at: float) -> Path:
    path = new_upload_path(settings, tenant.id)
    path.write_text("email\nann@example.com\n")
    os.utime(path, (written_at, written_at))
    return path


def _job(db: Database, tenant: Tenant, path: Path) -> int:
    with db.write() as conn:
        return create_job(
            conn,
            tenant_id=tenant.id,
            kind=Kind.MEMBERS,
            origin=Origin.API,
            path=str(path),
            fingerprint=fingerprint(path),
            start_offset=6,
            options=ImportOptions(),
            list_id=default_list_id(conn, tenant.id),
        )


def test_old_unused_uploads_go_and_the_rest_stay(
    db: Database, db_url: str, tenant: Tenant, tmp_path: Path
) -> None:
    settings = test_settings(db_url, import_dir=str(tmp_path / "uploads"))
    assert remove_unused_uploads(db, settings, NOW) == []  # no directory yet
    day = UNUSED_UPLOAD_SECONDS
    forgotten = _upload(settings, tenant, NOW - day - 1)
    young = _upload(settings, tenant, NOW - day + 60)
    queued = _upload(settings, tenant, NOW - 3 * day)
    finished = _upload(settings, tenant, NOW - 3 * day)
    _job(db, tenant, queued)
    done = _job(db, tenant, finished)
    with db.write() as conn:
        conn.execute(
            import_jobs.update().where(import_jobs.c.id == done).values(state=ImportState.DONE)
        )
    rejects = finished.with_name(finished.name + ".rejects.csv")
    rejects.write_text("row,error\n")
    os.utime(rejects, (NOW - 3 * day, NOW - 3 * day))
    other = tmp_path / "uploads" / "notes.csv"
    other.write_text("x")
    os.utime(other, (NOW - 3 * day, NOW - 3 * day))

    removed = remove_unused_uploads(db, settings, NOW)
    assert sorted(removed) == sorted([forgotten, finished])
    assert not forgotten.exists() and not finished.exists()
    assert young.exists() and queued.exists() and rejects.exists() and other.exists()
    assert remove_unused_uploads(db, settings, NOW) == []
    assert remove_unused_uploads(db, settings, NOW + 120) == [young]


def test_the_idle_import_worker_removes_them(
    db: Database, db_url: str, tenant: Tenant, tmp_path: Path
) -> None:
    settings = test_settings(db_url, import_dir=str(tmp_path / "uploads"))
    real_now = time.time()
    forgotten = _upload(settings, tenant, real_now - UNUSED_UPLOAD_SECONDS - 3600)
    fresh = _upload(settings, tenant, real_now)
    worker = ImportWorker(db, settings)
    assert worker.work_once() is False  # idle: nothing to import, so it sweeps
    assert not forgotten.exists() and fresh.exists()
