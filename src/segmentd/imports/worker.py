"""The import worker: a thread of ``segmentd serve`` running uploaded (API) imports.

Jobs are claimed with a lease, so an import interrupted by a restart (or a dead server)
resumes from its last committed chunk when a server starts again.
"""

from __future__ import annotations

import logging
import threading
from pathlib import Path

from ..jobs.worker import new_worker_id
from ..settings import Settings
from ..storage.db import Database
from .jobs import Origin, claim_next
from .runner import run_import

log = logging.getLogger("segmentd.imports")

STOP_TIMEOUT_SECONDS = 30.0


class ImportWorker:
    def __init__(self, db: Database, settings: Settings) -> None:
        self.db = db
        self.settings = settings
        self.id = new_worker_id()
        self._stopping = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        self._thread = threading.Thread(target=self.run, name="segmentd-import-worker", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        """Stop after the chunk in hand; the job goes back to the queue and resumes later."""
        self._stopping.set()
        if self._thread is not None:
            self._thread.join(STOP_TIMEOUT_SECONDS)
            if self._thread.is_alive():
                log.warning("import worker %s did not stop in time", self.id)

    def run(self) -> None:
        while not self._stopping.is_set():
            if not self._work_once():
                self._stopping.wait(self.settings.worker_poll_seconds)

    def _work_once(self) -> bool:
        """Run one job if there is one; False when idle (or the database failed)."""
        try:
            job = claim_next(self.db, Origin.API, self.id, self.settings.lease_seconds)
            if job is None:
                return False
            state = run_import(
                self.db, self.settings, job, self.id, should_stop=self._stopping.is_set
            )
            if state is not None:
                # Done or failed for good: the upload has served its purpose.
                Path(job.path).unlink(missing_ok=True)
        except Exception:
            # The lease runs out and another attempt resumes from the last committed chunk.
            log.exception("import worker %s hit an error", self.id)
            return False
        return True
