"""When stale generations are deleted: after each publish or failure, and by an idle
worker's sweep (``build_queue.claim_job`` when nothing is queued), at most once a minute.

What a stale generation is, and deleting one, is the membership's (``membership.stale``).
"""

from __future__ import annotations

import logging
import time
import weakref

from ..membership import STALE_CHUNK, store
from ..storage.db import Database

log = logging.getLogger("segmentd.jobs")

SWEEP_SECONDS = 60.0  # how often an idle worker looks for stale rows

_last_sweep: weakref.WeakKeyDictionary[Database, float] = weakref.WeakKeyDictionary()


def sweep_due(db: Database) -> bool:
    clock = time.monotonic()
    if clock - _last_sweep.get(db, -SWEEP_SECONDS) < SWEEP_SECONDS:
        return False
    _last_sweep[db] = clock
    return True


def sweep_stale_generations(db: Database, chunk: int = STALE_CHUNK) -> int:
    """Finish every cleanup a crash cut short."""
    return store().sweep_stale(db, chunk)


def drop_stale_quietly(db: Database, tenant_id: int, segment_id: str, chunk: int) -> None:
    # The publish (or failure) is committed already; if this fails, an idle sweep finishes it.
    try:
        store().drop_stale(db, tenant_id, segment_id, chunk)
    except Exception:
        log.exception("segment %s: stale generations left for the sweep", segment_id)
