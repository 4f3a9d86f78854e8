"""The webhook figure: how long a real-time change takes to reach a receiver on this machine.

The application runs as ``segmentd serve`` runs it, its workers started with it (the build
worker and the webhook worker, ``api.app``), with 127.0.0.1 allow-listed for webhooks. A real
HTTP receiver (the tests' own, ``tests.support.webhook_receiver``) listens on a loopback port
in this process; each change's arrival is read from deliveries whose signature
``standardwebhooks`` verified. A subscription follows one segment (``Age >= 50``, kept in the
data set); each upsert of one member through the API moves that member in or out of it, a
few tens of milliseconds apart (spaced irregularly, so that they do not keep step with the
worker's polling).

A change's latency is its arrival at the receiver minus the moment its upsert was sent: the
change commits inside the request, so this is an upper bound by the upsert's own time (the
history stores whole seconds; the bound from the answer, a lower one, is noted too).
"""

from __future__ import annotations

import random
import statistics
import time

import sqlalchemy as sa
from fastapi.testclient import TestClient
from tests.support.webhook_receiver import Receiver

from segmentd.api.app import create_app
from segmentd.storage.catalog import load_catalog
from segmentd.storage.member_columns import field_column
from segmentd.storage.schema import members

from .figures import PAGED, Context, named_segment, ok

CHANGES = 200  # real-time changes per run by default: the p99 is their second slowest
GAP_SECONDS = (0.01, 0.06)  # the pause between two upserts, drawn uniformly
WAIT_SECONDS = 30.0  # for the last change of a run to arrive, else the figure fails
THRESHOLD = 50  # the segment's condition: Age >= 50 (``conditions.ONE``)


class Arrivals:
    """When each member's change first arrived (``perf_counter``, the clock of the upserts),
    read from the receiver's deliveries once ``standardwebhooks`` verified each one's
    signature (a delivery that fails the check fails the figure)."""

    def __init__(self, receiver: Receiver, secret: str) -> None:
        self.receiver = receiver
        self.secret = secret
        self.at: dict[int, float] = {}
        self._read = 0

    def wait_for(self, member_ids: list[int]) -> None:
        deadline = time.perf_counter() + WAIT_SECONDS
        while missing := [m for m in member_ids if m not in self._caught_up()]:
            if time.perf_counter() > deadline:
                raise AssertionError(f"{len(missing)} changes did not arrive in {WAIT_SECONDS} s")
            time.sleep(0.005)

    def _caught_up(self) -> dict[int, float]:
        received = self.receiver.received
        for delivery in received[self._read : len(received)]:
            for change in delivery.verified(self.secret)["data"]["changes"]:
                self.at.setdefault(int(change["member_id"]), delivery.at)
            self._read += 1
        return self.at


def people(ctx: Context, indexes: list[int]) -> list[tuple[str, int, str]]:
    """(email, member id, an Age that moves the member across ``THRESHOLD``) of each."""
    emails = [f"m{i}@d{i % 500}.example" for i in indexes]
    with ctx.db.read() as conn:
        age = field_column(load_catalog(conn, ctx.dataset.tenant_id).fields["age"])
        rows = conn.execute(
            sa.select(members.c.email_key, members.c.id, age).where(
                members.c.tenant_id == ctx.dataset.tenant_id,
                members.c.list_id == ctx.dataset.list_id,
                members.c.email_key.in_(emails),
            )
        ).all()
    found = {email: (int(member_id), value) for email, member_id, value in rows}
    moved = []
    for email in emails:
        member_id, value = found[email]
        inside = value is not None and float(value) >= THRESHOLD
        moved.append((email, member_id, "20" if inside else "70"))
    return moved


def measure(ctx: Context, runs: int) -> list[float]:
    """p99 milliseconds per run of ``CHANGES`` real-time changes (or the ``webhook_changes``
    option's number); p50s and the lower bounds go to the figure's notes."""
    segment_id = named_segment(ctx, *PAGED)  # before the workers start: built here
    settings = ctx.settings.model_copy(update={"webhook_allowed_hosts": "127.0.0.1"})
    app = create_app(settings, start_worker=True, freeze_gc=True)
    changes = int(ctx.options.get("webhook_changes", CHANGES))
    step = max(1, ctx.dataset.members // (changes * (runs + 1)))
    chosen = list(range(0, step * changes * (runs + 1), step))
    p99s: list[float] = []
    notes: dict[str, list[float]] = {
        "p50_ms": [],
        "p50_from_answer_ms": [],
        "p99_from_answer_ms": [],
    }
    with Receiver() as receiver, TestClient(app) as client:
        client.auth = (ctx.dataset.api_user, ctx.dataset.api_key)
        drop_leftovers(client)
        body = {"url": receiver.url, "segment_id": segment_id}
        subscribed = ok(client.post("/v1/webhooks", json=body))["result"]
        arrivals = Arrivals(receiver, subscribed["secret"])
        try:
            upsert_changes(ctx, client, arrivals, chosen[:changes])  # warm-up
            for run in range(runs):
                batch = chosen[(run + 1) * changes : (run + 2) * changes]
                sent, answered = upsert_changes(ctx, client, arrivals, batch)
                arrived = arrivals.at
                since_sent = [(arrived[m] - t) * 1000 for m, t in sent.items()]
                since_answer = [(arrived[m] - t) * 1000 for m, t in answered.items()]
                p99s.append(percentile(since_sent, 99))
                notes["p50_ms"].append(round(percentile(since_sent, 50), 1))
                notes["p50_from_answer_ms"].append(round(percentile(since_answer, 50), 1))
                notes["p99_from_answer_ms"].append(round(percentile(since_answer, 99), 1))
        finally:
            client.delete(f"/v1/webhooks/{subscribed['webhook_id']}")
    ctx.notes.update(notes)
    return p99s


def drop_leftovers(client: TestClient) -> None:
    """Delete the subscriptions of runs that were killed: nobody listens there any more."""
    for hook in ok(client.get("/v1/webhooks"))["result"]:
        if hook["url"].startswith("http://127.0.0.1:") and hook["url"].endswith("/hook"):
            client.delete(f"/v1/webhooks/{hook['webhook_id']}")


def upsert_changes(
    ctx: Context, client: TestClient, arrivals: Arrivals, indexes: list[int]
) -> tuple[dict[int, float], dict[int, float]]:
    """Upsert each member alone, moving it across the segment's edge; when each was sent and
    answered, by member id, once every change arrived."""
    gaps = random.Random(len(arrivals.at))
    sent: dict[int, float] = {}
    answered: dict[int, float] = {}
    for email, member_id, age in people(ctx, indexes):
        body = {"update_existing": True, "members": [{"email": email, "fields": {"Age": age}}]}
        sent[member_id] = time.perf_counter()
        result = ok(client.post("/v1/marketing/lists/members", json=body))["result"]
        answered[member_id] = time.perf_counter()
        assert result["updated"] == 1, result
        time.sleep(gaps.uniform(*GAP_SECONDS))
    arrivals.wait_for(list(sent))
    return sent, answered


def percentile(values: list[float], p: int) -> float:
    return statistics.quantiles(values, n=100, method="inclusive")[p - 1]
