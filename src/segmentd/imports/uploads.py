"""Where uploaded CSV files wait for their import: a directory beside a SQLite database
(``<db file>.imports/``), else ``./segmentd-imports``; ``settings.import_dir`` when set.

An upload no import was started from (a browser upload whose columns were never mapped) is
removed once older than ``UNUSED_UPLOAD_SECONDS`` (``remove_unused_uploads``, from the import
worker's idle loop); an import's file goes when the import ends (``import_worker``).
"""

from __future__ import annotations

import logging
import re
import secrets
from pathlib import Path

import sqlalchemy as sa

from ..settings import Settings
from ..storage.db import Database, is_sqlite, normalize_url
from ..storage.schema import import_jobs
from .import_jobs import UNFINISHED

DEFAULT_DIR = "segmentd-imports"
UNUSED_UPLOAD_SECONDS = 24 * 3600
# An upload's own name (``new_upload_path``); rejected rows' files beside it are not uploads.
_UPLOAD_NAME = re.compile(r"tenant[0-9]+-[0-9a-f]{16}\.csv")

log = logging.getLogger("segmentd.imports")


def upload_dir(settings: Settings) -> Path:
    configured = settings.import_dir
    if configured:
        return Path(configured)
    url = normalize_url(settings.database_url)
    database = url.split("///", 1)[1] if is_sqlite(url) and "///" in url else ""
    if database and database != ":memory:" and not database.startswith("file:"):
        return Path(database).with_name(Path(database).name + ".imports")
    return Path.cwd() / DEFAULT_DIR


def new_upload_path(settings: Settings, tenant_id: int) -> Path:
    """A fresh file name for one upload (the directory is created, private to the owner)."""
    directory = upload_dir(settings)
    directory.mkdir(mode=0o700, parents=True, exist_ok=True)
    return directory / f"tenant{tenant_id}-{secrets.token_hex(8)}.csv"


def remove_unused_uploads(db: Database, settings: Settings, now: float) -> list[Path]:
    """Delete the uploads last written before ``now - UNUSED_UPLOAD_SECONDS`` that no
    queued or running import reads; the files removed. ``now``: epoch seconds of the real
    clock (file times are; the conditions' clock may be moved by tests)."""
    directory = upload_dir(settings)
    if not directory.is_dir():
        return []
    cutoff = now - UNUSED_UPLOAD_SECONDS
    old = [p for p in directory.iterdir() if _UPLOAD_NAME.fullmatch(p.name) and _older(p, cutoff)]
    if not old:
        return []
    with db.read() as conn:
        paths = conn.execute(
            sa.select(import_jobs.c.path).where(import_jobs.c.state.in_(UNFINISHED))
        ).scalars()
        reading = {Path(path).name for path in paths}
    removed = [p for p in old if p.name not in reading]
    for path in removed:
        path.unlink(missing_ok=True)
    if removed:
        log.info("removed %d uploads no import was started from", len(removed))
    return removed


def _older(path: Path, cutoff: float) -> bool:
    try:
        return path.stat().st_mtime < cutoff
    except FileNotFoundError:  # removed meanwhile (another server's sweep)
        return False
