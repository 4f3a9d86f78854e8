"""A background thread that polls for work until told to stop (the build and import workers)."""

from __future__ import annotations

import logging
import threading

from ..settings import Settings
from ..storage import wakeups
from ..storage.db import Database
from .queue import new_worker_id

log = logging.getLogger("segmentd.jobs")

# How long stop() waits for the work in hand; chunks are bounded, so this is generous.
STOP_TIMEOUT_SECONDS = 30.0


class PollingWorker:
    """Calls ``work_once`` in a daemon thread, sleeping ``worker_poll_seconds`` when it is idle.

    Subclasses implement ``work_once`` (True when it did something) and pass
    ``self._stopping.is_set`` to long work so that it hands its job back when asked to stop.
    A commit of this process naming the worker's ``queue`` (``storage.wakeups``) ends its
    sleep at once.
    """

    kind = "worker"
    queue: str | None = None  # the wake-ups it listens to

    def __init__(self, db: Database, settings: Settings) -> None:
        self.db = db
        self.settings = settings
        self.id = new_worker_id()
        self._stopping = threading.Event()
        self._woken = threading.Event()
        self._thread: threading.Thread | None = None

    def work_once(self) -> bool:
        raise NotImplementedError

    def idle_seconds(self) -> float:
        """How long to sleep when there was nothing to do."""
        return self.settings.worker_poll_seconds

    def start(self) -> None:
        name = f"segmentd-{self.kind}-worker"
        self._thread = threading.Thread(target=self.run, name=name, daemon=True)
        self._thread.start()

    def request_stop(self) -> None:
        self._stopping.set()
        self._woken.set()

    def stop(self) -> None:
        """Stop after the chunk in hand (the job goes back to the queue) and wait for the thread."""
        self.request_stop()
        if self._thread is not None:
            self._thread.join(STOP_TIMEOUT_SECONDS)
            if self._thread.is_alive():
                log.warning("%s worker %s did not stop in time", self.kind, self.id)

    def run(self) -> None:
        log.info("%s worker %s running", self.kind, self.id)
        if self.queue is not None:
            wakeups.listen(self.queue, self._woken)
        try:
            while not self._stopping.is_set():
                self._woken.clear()  # a wake-up during the work below ends the next sleep
                if not self.work_once():
                    self._woken.wait(self.idle_seconds())
        finally:
            if self.queue is not None:
                wakeups.stop_listening(self.queue, self._woken)
        log.info("%s worker %s stopped", self.kind, self.id)
