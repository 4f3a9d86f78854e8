"""The import worker: a thread of ``segmentd serve`` running uploaded (API) imports.

Jobs are claimed with a lease, so an import interrupted by a restart (or a dead server)
resumes from its last committed chunk when a server starts again. When idle, it removes the
uploads no import was started from, once an hour at most (``uploads.remove_unused_uploads``).
"""

from __future__ import annotations

import logging
import time
from pathlib import Path

from ..jobs.loop import PollingWorker
from .import_jobs import WAKE_UP, Origin, claim_next
from .runner import run_import
from .uploads import remove_unused_uploads

log = logging.getLogger("segmentd.imports")
SWEEP_EVERY_SECONDS = 3600.0


class ImportWorker(PollingWorker):
    """Runs uploaded imports; one interrupted by a restart resumes from its last chunk."""

    kind = "import"
    queue = WAKE_UP
    _swept_at = float("-inf")  # monotonic time of the last sweep of unused uploads

    def work_once(self) -> bool:
        """Run one job if there is one; False when idle (or the database failed)."""
        try:
            job = claim_next(self.db, Origin.API, self.id, self.settings.lease_seconds)
            if job is None:
                self._sweep()
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

    def _sweep(self) -> None:
        if time.monotonic() - self._swept_at >= SWEEP_EVERY_SECONDS:
            self._swept_at = time.monotonic()
            remove_unused_uploads(self.db, self.settings, time.time())
