"""Webhook deliveries on the lease queue: claim one that is due, post it, record the outcome.

A delivery (``webhook_deliveries``, one batch of changes) is claimed with a lease like a build
(``jobs.queue``); its body and ``webhook-id`` were fixed when it was cut, so every attempt,
after a failure, a crash (the lease runs out and another worker posts it again: at least once)
or a replay, posts the same bytes under the same id. The signature follows the Standard Webhooks
specification (``standardwebhooks``): ``webhook-id``, ``webhook-timestamp`` and
``webhook-signature`` (HMAC-SHA256 of ``id.timestamp.body`` with the subscription's secret).
A 2xx answer delivers it; anything else (a redirect included: redirects are not followed, a
timeout, a refused address) is retried (``webhook_backoff``), then parked.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from datetime import UTC, datetime

import httpx
import sqlalchemy as sa
from sqlalchemy.engine import Connection
from standardwebhooks.webhooks import Webhook

from .. import __version__, clock
from ..domain.statuses import JobState
from ..secrets import SealError, token_keys
from ..settings import Settings
from ..storage.db import Database
from ..storage.schema import webhook_deliveries, webhooks
from ..storage.webhooks import read_secret
from ..timefmt import now
from .queue import LeaseQueue
from .webhook_backoff import next_delay, window_over
from .webhook_targets import AllowList, GuardedTransport, TargetRefused

log = logging.getLogger("segmentd.webhooks")

# Claims of one delivery before it is parked whatever its window says: one that keeps killing
# its workers. Far above the tries a day of backoff takes (about 40).
MAX_CLAIMS = 200
DELIVERIES = LeaseQueue(webhook_deliveries, MAX_CLAIMS)
USER_AGENT = f"segmentd-webhooks/{__version__}"
MAX_ERROR = 500


@dataclass(frozen=True)
class Claimed:
    delivery_id: int
    webhook_id: int
    message_id: str
    url: str
    secret: str | None  # None: sealed under another server secret (the delivery fails)
    payload: str
    tries: int
    window_start: float
    owner: str
    exhausted: bool


@dataclass(frozen=True)
class Outcome:
    status: int | None  # the receiver's HTTP status; None when none came back
    error: str | None  # None: delivered

    @property
    def delivered(self) -> bool:
        return self.error is None


def lease_seconds(settings: Settings) -> float:
    """A lease long enough for one post (its timeout) and the writes around it."""
    return settings.lease_seconds + settings.webhook_timeout_seconds


def claim_delivery(db: Database, settings: Settings, owner: str) -> Claimed | None:
    """The oldest due delivery of an enabled subscription, ours for one post."""
    d, w = webhook_deliveries.c, webhooks.c
    enabled = sa.exists().where(
        w.tenant_id == d.tenant_id, w.id == d.webhook_id, w.enabled.is_(True)
    )
    with db.read() as conn:
        # Looked for in a read first: an idle worker must not take SQLite's write lock.
        due = sa.select(d.id).where(
            DELIVERIES.claimable(time.time()), d.next_attempt_at <= clock.now(), enabled
        )
        if conn.execute(due.limit(1)).first() is None:
            return None
    with db.write() as conn:
        at = clock.now()
        leased = DELIVERIES.claim_next(
            conn, owner, time.time() + lease_seconds(settings), d.next_attempt_at <= at, enabled
        )
        if leased is None:
            return None
        row = leased.row
        window_start = row.window_start
        if window_start is None:
            window_start = at
            conn.execute(
                sa.update(webhook_deliveries).where(d.id == row.id).values(window_start=at)
            )
        url = conn.execute(
            sa.select(w.url).where(w.tenant_id == row.tenant_id, w.id == row.webhook_id)
        ).scalar_one()
        return Claimed(
            row.id,
            row.webhook_id,
            row.message_id,
            url,
            _secret(conn, row.tenant_id, row.webhook_id, settings),
            row.payload,
            int(row.tries),
            float(window_start),
            owner,
            DELIVERIES.exhausted(leased.attempt),
        )


def _secret(conn: Connection, tenant_id: int, webhook_id: int, settings: Settings) -> str | None:
    try:
        return read_secret(conn, tenant_id, webhook_id, token_keys(settings))
    except SealError:
        return None


def signed_headers(message_id: str, secret: str, body: str, at: datetime) -> dict[str, str]:
    """The Standard Webhooks headers of one attempt (its own timestamp), and the others."""
    return {
        "webhook-id": message_id,
        "webhook-timestamp": str(int(at.timestamp())),
        "webhook-signature": Webhook(secret).sign(message_id, at, body),
        "content-type": "application/json",
        "user-agent": USER_AGENT,
    }


def post(claimed: Claimed, settings: Settings) -> Outcome:
    """One attempt: POST the batch, signed, without following redirects."""
    if claimed.secret is None:
        return Outcome(None, "the secret was sealed with another server secret: rotate it")
    headers = signed_headers(claimed.message_id, claimed.secret, claimed.payload, datetime.now(UTC))
    allowed = AllowList.parse(settings.webhook_allowed_list)
    try:
        with httpx.Client(
            transport=GuardedTransport(allowed),
            timeout=settings.webhook_timeout_seconds,
            follow_redirects=False,
            trust_env=False,  # no proxy from the environment: the guard checks the real peer
        ) as client:
            response = client.post(claimed.url, content=claimed.payload.encode(), headers=headers)
    except TargetRefused as exc:
        return Outcome(None, f"refused: {exc}")
    except httpx.TimeoutException:
        return Outcome(None, f"no answer within {settings.webhook_timeout_seconds:g}s")
    except httpx.HTTPError as exc:
        return Outcome(None, f"{type(exc).__name__}: {exc}"[:MAX_ERROR])
    status = response.status_code
    if 200 <= status < 300:
        return Outcome(status, None)
    if response.is_redirect:
        return Outcome(status, f"answered {status}: redirects are not followed")
    return Outcome(status, f"answered {status}")


def record(db: Database, claimed: Claimed, outcome: Outcome) -> str | None:
    """Write the attempt's outcome while we hold the delivery: delivered, queued again after
    its backoff, or parked. The new state; None when the lease was lost meanwhile (the
    delivery's new holder posts it again, under the same id)."""
    at = clock.now()
    tries = claimed.tries + 1
    values: dict[str, object] = {"tries": tries, "last_status": outcome.status}
    if outcome.delivered:
        state = JobState.DONE
        values.update(delivered_at=now(), error=None)
    elif claimed.exhausted or window_over(claimed.window_start, at):
        state = JobState.FAILED
        values.update(error=outcome.error)
    else:
        state = JobState.QUEUED
        values.update(error=outcome.error, next_attempt_at=at + next_delay(tries))
    held = DELIVERIES.held(claimed.delivery_id, claimed.owner)
    with db.write() as conn:
        written = conn.execute(
            held.values(
                state=state, lease_owner=None, lease_expires_at=None, updated_at=now(), **values
            )
        )
    if written.rowcount != 1:
        return None
    if state != JobState.DONE:
        log.warning(
            "webhook %s delivery %s try %s failed (%s): %s",
            claimed.webhook_id,
            claimed.delivery_id,
            tries,
            state,
            outcome.error,
        )
    return state


def deliver_one(db: Database, settings: Settings, owner: str) -> bool:
    """Claim, post and record one due delivery; False when none is due."""
    claimed = claim_delivery(db, settings, owner)
    if claimed is None:
        return False
    record(db, claimed, post(claimed, settings))
    return True
