"""The Prometheus metrics segmentd's processes record (``GET /metrics`` serves them).

Every metric any part of segmentd records is defined here, once, with its name and labels;
callers use the small functions below rather than the metric objects, so names and label
values stay bounded and documented (docs/operations.md lists them). Gauges of the queues
(depths, stuck jobs, overdue refreshes) are not recorded here: ``GET /metrics`` reads them
from the database at each scrape, so they hold whichever process did the work.

Counters and histograms live in the process that records them. When several processes
record (``segmentd serve --workers N``, a separate ``segmentd worker``), set
``PROMETHEUS_MULTIPROC_DIR`` to one empty directory for all of them before they start:
prometheus-client then keeps each process's values in files there and ``GET /metrics`` sums
them (``registry()``).
"""

from __future__ import annotations

import os
from typing import Any

from prometheus_client import CollectorRegistry, Counter, Histogram
from prometheus_client.multiprocess import MultiProcessCollector

# Seconds: from a few milliseconds (an API call) to an hour (a build of millions of members).
_FAST = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0)
_SLOW = (0.1, 0.5, 1.0, 5.0, 15.0, 30.0, 60.0, 120.0, 300.0, 600.0, 1800.0, 3600.0)
_LAG = (0.1, 0.5, 1.0, 5.0, 30.0, 60.0, 300.0, 1800.0, 3600.0, 21600.0, 86400.0)

QUEUES = ("build", "refresh", "import", "webhook")

BUILD_SECONDS = Histogram(
    "segmentd_build_duration_seconds",
    "Time from a build's first claim to its publish",
    buckets=_SLOW,
)
REFRESH_SECONDS = Histogram(
    "segmentd_refresh_duration_seconds",
    "Time from a daily refresh's first claim to its end",
    buckets=_SLOW,
)
JOB_FAILURES = Counter(
    "segmentd_job_failures_total",
    "Jobs that failed for good (their attempts ran out, or their input is invalid)",
    ["queue"],
)
JOB_ERRORS = Counter(
    "segmentd_job_errors_total",
    "Attempts of a job that ended in an unexpected error (the job is tried again)",
    ["queue"],
)
LEASE_EXPIRIES = Counter(
    "segmentd_job_lease_expiries_total",
    "Jobs reclaimed after their worker's lease ran out (a worker died or stalled)",
    ["queue"],
)
HTTP_SECONDS = Histogram(
    "segmentd_http_request_duration_seconds",
    "Time to answer an API request, by route template (the look-up: "
    "segmentd_lookup_duration_seconds)",
    ["method", "route", "status"],
    buckets=_FAST,
)
LOOKUP_SECONDS = Histogram(
    "segmentd_lookup_duration_seconds",
    "Time to answer a Commanders Act visitor look-up",
    ["status"],
    buckets=_FAST,
)
REALTIME_UPDATES = Counter(
    "segmentd_realtime_updates_total",
    "Member writes whose segment memberships were brought up to date in their transaction",
)
REALTIME_MEMBERS = Counter(
    "segmentd_realtime_members_total",
    "Members re-evaluated against the segments by real-time updates",
)
WEBHOOK_DELIVERIES = Counter(
    "segmentd_webhook_deliveries_total",
    "Webhook delivery attempts, by outcome (delivered, retried, parked)",
    ["outcome"],
)
WEBHOOK_SECONDS = Histogram(
    "segmentd_webhook_delivery_duration_seconds",
    "Time of one webhook delivery attempt (the receiver's answer included)",
    buckets=_FAST,
)
WEBHOOK_LAG = Histogram(
    "segmentd_webhook_lag_seconds",
    "Time from a membership change to its delivery to the receiver",
    buckets=_LAG,
)
WEBHOOK_OUTCOMES = ("delivered", "retried", "parked")

_METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})


STATUS_CLASSES = ("1xx", "2xx", "3xx", "4xx", "5xx")
# Children resolved once: ``labels()`` takes a lock and builds a key at every call, which
# would be most of what a look-up's observation costs.
_LOOKUPS = {status_class: LOOKUP_SECONDS.labels(status_class) for status_class in STATUS_CLASSES}
_REQUESTS: dict[tuple[str, str, str], Any] = {}


_CLASS_OF = {n: status_class for n, status_class in enumerate(STATUS_CLASSES, 1)}


def status_class(status: int) -> str:
    """``1xx``..``5xx``: a label with five values whatever the answers."""
    return _CLASS_OF.get(status // 100, "5xx")


def observe_request(method: str, route: str, status: int, seconds: float) -> None:
    """An API request answered; ``route`` is its template (``/v1/segments/{segment_id}``),
    never the raw path."""
    key = (method if method in _METHODS else "OTHER", route, status_class(status))
    child = _REQUESTS.get(key)
    if child is None:
        child = _REQUESTS.setdefault(key, HTTP_SECONDS.labels(*key))
    child.observe(seconds)


def observe_lookup(status: int, seconds: float) -> None:
    _LOOKUPS[status_class(status)].observe(seconds)


def observe_build(seconds: float) -> None:
    BUILD_SECONDS.observe(seconds)


def observe_refresh(seconds: float) -> None:
    REFRESH_SECONDS.observe(seconds)


def job_failed(queue: str) -> None:
    JOB_FAILURES.labels(queue).inc()


def job_error(queue: str) -> None:
    JOB_ERRORS.labels(queue).inc()


def lease_expired(queue: str) -> None:
    LEASE_EXPIRIES.labels(queue).inc()


def realtime_update(members: int) -> None:
    REALTIME_UPDATES.inc()
    REALTIME_MEMBERS.inc(members)


def webhook_delivery(outcome: str, seconds: float) -> None:
    """One delivery attempt ended: ``outcome`` is delivered, retried (another attempt
    follows) or parked (the retry window ran out)."""
    if outcome not in WEBHOOK_OUTCOMES:
        raise ValueError(f"webhook outcome must be one of {WEBHOOK_OUTCOMES}: {outcome!r}")
    WEBHOOK_DELIVERIES.labels(outcome).inc()
    WEBHOOK_SECONDS.observe(seconds)


def webhook_lag(seconds: float) -> None:
    """A change reached its receiver ``seconds`` after it was recorded."""
    WEBHOOK_LAG.observe(max(0.0, seconds))


def multiprocess() -> bool:
    """Whether values are kept in ``PROMETHEUS_MULTIPROC_DIR`` (several processes record)."""
    return bool(os.environ.get("PROMETHEUS_MULTIPROC_DIR"))


def registry() -> CollectorRegistry:
    """What ``GET /metrics`` serves of the recorded metrics: this process's own, or with
    ``PROMETHEUS_MULTIPROC_DIR`` the sum over every process that recorded there."""
    if multiprocess():
        collected = CollectorRegistry()
        MultiProcessCollector(collected)
        return collected
    from prometheus_client import REGISTRY

    return REGISTRY
