"""The webhook figure: how long a real-time change takes to reach a receiver on this machine.

The application runs as ``segmentd serve`` runs it, its workers started with it (the build
worker and the webhook worker, ``api.app``), with 127.0.0.1 allow-listed for webhooks. A real
HTTP receiver listens on a loopback port in this process; it verifies every delivery's
signature with ``standardwebhooks`` and notes when each change it carries arrived. A
subscription follows one segment (``Age >= 50``, kept in the data set); each upsert of one
member through the API moves that member in or out of it, a few tens of milliseconds apart
(spaced irregularly, so that they do not keep step with the worker's polling).

A change's latency is its arrival at the receiver minus the moment its upsert was sent: the
change commits inside the request, so this is an upper bound by the upsert's own time (the
history stores whole seconds; the bound from the answer, a lower one, is noted too).
"""

from __future__ import annotations

import random
import statistics
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import sqlalchemy as sa
from fastapi.testclient import TestClient
from standardwebhooks.webhooks import Webhook

from segmentd.api.app import create_app
from segmentd.storage.catalog import load_catalog
from segmentd.storage.member_columns import field_column
from segmentd.storage.schema import members

from .figures import PAGED, Context, named_segment, ok

CHANGES = 200  # real-time changes per run: the p99 is their second slowest
GAP_SECONDS = (0.01, 0.06)  # the pause between two upserts, drawn uniformly
WAIT_SECONDS = 30.0  # for the last change of a run to arrive, else the figure fails
THRESHOLD = 50  # the segment's condition: Age >= 50 (``conditions.ONE``)


class Receiver:
    """A threaded HTTP server on 127.0.0.1: checks each delivery's signature and notes when
    each change arrived, by member id (``perf_counter``, the clock of the upserts)."""

    def __init__(self) -> None:
        self.arrived: dict[int, float] = {}
        self.refused = 0
        self.secret = ""
        self.got = threading.Condition()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("content-length", "0")))
                now = time.perf_counter()
                status = receiver.accept(body, dict(self.headers.items()), now)
                self.send_response(status)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *_args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}/hook"

    def accept(self, body: bytes, headers: dict[str, str], now: float) -> int:
        try:
            batch = Webhook(self.secret).verify(body, {k.lower(): v for k, v in headers.items()})
        except Exception:
            with self.got:
                self.refused += 1
            return 400
        with self.got:
            for change in batch["data"]["changes"]:
                self.arrived.setdefault(int(change["member_id"]), now)
            self.got.notify_all()
        return 204

    def wait_for(self, member_ids: list[int], timeout: float) -> None:
        with self.got:
            self.got.wait_for(lambda: all(m in self.arrived for m in member_ids), timeout)
            missing = [m for m in member_ids if m not in self.arrived]
        assert not self.refused, f"{self.refused} deliveries failed the signature check"
        assert not missing, f"{len(missing)} changes did not arrive in {timeout:.0f} s"

    def __enter__(self) -> Receiver:
        self.thread.start()
        return self

    def __exit__(self, *_exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()


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
    """p99 milliseconds per run of ``CHANGES`` real-time changes; p50s and the lower bounds
    go to the figure's notes."""
    segment_id = named_segment(ctx, *PAGED)  # before the workers start: built here
    settings = ctx.settings.model_copy(update={"webhook_allowed_hosts": "127.0.0.1"})
    app = create_app(settings, start_worker=True, freeze_gc=True)
    step = max(1, ctx.dataset.members // (CHANGES * (runs + 1)))
    chosen = list(range(0, step * CHANGES * (runs + 1), step))
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
        receiver.secret = subscribed["secret"]
        try:
            upsert_changes(ctx, client, receiver, chosen[:CHANGES])  # warm-up
            for run in range(runs):
                batch = chosen[(run + 1) * CHANGES : (run + 2) * CHANGES]
                sent, answered = upsert_changes(ctx, client, receiver, batch)
                arrived = receiver.arrived
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
    ctx: Context, client: TestClient, receiver: Receiver, indexes: list[int]
) -> tuple[dict[int, float], dict[int, float]]:
    """Upsert each member alone, moving it across the segment's edge; when each was sent and
    answered, by member id, once every change arrived."""
    gaps = random.Random(len(receiver.arrived))
    sent: dict[int, float] = {}
    answered: dict[int, float] = {}
    for email, member_id, age in people(ctx, indexes):
        body = {"update_existing": True, "members": [{"email": email, "fields": {"Age": age}}]}
        sent[member_id] = time.perf_counter()
        result = ok(client.post("/v1/marketing/lists/members", json=body))["result"]
        answered[member_id] = time.perf_counter()
        assert result["updated"] == 1, result
        time.sleep(gaps.uniform(*GAP_SECONDS))
    receiver.wait_for(list(sent), WAIT_SECONDS)
    return sent, answered


def percentile(values: list[float], p: int) -> float:
    return statistics.quantiles(values, n=100, method="inclusive")[p - 1]
