"""Where uploaded CSV files wait for their import: a directory beside a SQLite database
(``<db file>.imports/``), else ``./segmentd-imports``; ``settings.import_dir`` when set.
"""

from __future__ import annotations

import secrets
from pathlib import Path

from ..settings import Settings
from ..storage.db import is_sqlite, normalize_url

DEFAULT_DIR = "segmentd-imports"


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
