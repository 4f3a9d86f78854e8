"""Deleting membership history older than ``SEGMENTD_HISTORY_RETENTION_DAYS``: by an idle
worker, at most once a minute, in chunks of ``PURGE_CHUNK`` changes per transaction, so a
purge never holds a long transaction and one cut short is finished by the next."""

from __future__ import annotations

import logging
import time
import weakref

from ..settings import Settings
from ..storage.db import Database
from ..storage.membership_history import delete_changes_before, tenants_with_history

log = logging.getLogger("segmentd.jobs")

PURGE_SECONDS = 60.0  # how often an idle worker purges
PURGE_CHUNK = 5_000  # changes deleted per transaction (whole blocks: up to a block more)
DAY_SECONDS = 86_400

_last_purge: weakref.WeakKeyDictionary[Database, float] = weakref.WeakKeyDictionary()


def purge_due(db: Database) -> bool:
    clock = time.monotonic()
    if clock - _last_purge.get(db, -PURGE_SECONDS) < PURGE_SECONDS:
        return False
    _last_purge[db] = clock
    return True


def purge_history(
    db: Database, retention_days: int, now: float | None = None, chunk: int = PURGE_CHUNK
) -> int:
    """Delete every change older than ``retention_days`` (0: keep all); how many."""
    if retention_days <= 0:
        return 0
    cutoff = int(now if now is not None else time.time()) - retention_days * DAY_SECONDS
    with db.read() as conn:
        tenants = tenants_with_history(conn)
    deleted = 0
    for tenant_id in tenants:
        while True:
            with db.write() as conn:
                gone = delete_changes_before(conn, tenant_id, cutoff, chunk)
            deleted += gone
            if gone < chunk:
                break
    return deleted


def purge_quietly(db: Database, settings: Settings) -> None:
    """``purge_history`` when due; a failure is logged, and the next purge retries."""
    if not purge_due(db):
        return
    try:
        deleted = purge_history(db, settings.history_retention_days)
    except Exception:
        log.exception("membership history purge failed; the next one retries")
        return
    if deleted:
        log.info(
            "membership history: %s changes older than %s days deleted",
            deleted,
            settings.history_retention_days,
        )
