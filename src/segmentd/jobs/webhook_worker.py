"""The webhook worker: cuts batches from the change feed and delivers them, in a thread of the
server or of ``segmentd worker``. Several may share a database: deliveries are leased, and
batches are cut under the subscription's row lock."""

from __future__ import annotations

import logging

from .loop import PollingWorker
from .webhook_delivery import deliver_one
from .webhook_dispatch import dispatch

log = logging.getLogger("segmentd.webhooks")

# A change should reach its receiver well within a second: an idle pass is a few indexed
# reads, so this worker looks more often than the build worker does.
IDLE_SECONDS = 0.05


class WebhookWorker(PollingWorker):
    """Cuts the batches due, then posts one delivery; idle when neither had anything to do."""

    kind = "webhook"

    def idle_seconds(self) -> float:
        return min(IDLE_SECONDS, self.settings.worker_poll_seconds)

    def work_once(self) -> bool:
        try:
            cut = dispatch(self.db, self.settings)
            posted = deliver_one(self.db, self.settings, self.id)
        except Exception:
            # A delivery claimed before the error is posted again once its lease runs out.
            log.exception("webhook worker %s hit an error", self.id)
            return False
        return bool(cut) or posted
