"""Where webhooks may go: public addresses, or what the allow-list names; and the backoff."""

from __future__ import annotations

import ipaddress
import random

import pytest

from segmentd.jobs.webhook_backoff import (
    FIRST_DELAY,
    MAX_DELAY,
    RETRY_WINDOW,
    ceiling,
    next_delay,
    window_over,
)
from segmentd.jobs.webhook_targets import AllowList, TargetRefused, check_url, is_public
from segmentd.settings import Settings

NOBODY = AllowList.parse([])


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1/hook",
        "http://127.1.2.3:8080/hook",
        "http://localhost/hook",
        "http://10.0.0.1/hook",
        "http://172.16.5.4/hook",
        "http://192.168.1.1/hook",
        "http://169.254.169.254/latest/meta-data",  # cloud metadata: link-local
        "http://100.64.0.1/hook",  # shared address space
        "http://0.0.0.0/hook",
        "http://[::1]/hook",
        "http://[fe80::1]/hook",
        "http://[fc00::1]/hook",
        "http://[::ffff:127.0.0.1]/hook",  # IPv4-mapped loopback
        "http://224.0.0.1/hook",
    ],
)
def test_non_public_addresses_are_refused(url: str) -> None:
    with pytest.raises(TargetRefused, match="not a public address"):
        check_url(url, NOBODY)


@pytest.mark.parametrize(
    ("url", "reason"),
    [
        ("ftp://example.com/x", "http"),
        ("file:///etc/passwd", "http"),
        ("http:///nohost", "http"),
        ("http://user:pw@8.8.8.8/x", "user name"),
        ("http://8.8.8.8:99999/x", "port"),
        ("http://no-such-host.invalid/x", "does not resolve"),
    ],
)
def test_malformed_or_unresolvable_urls_are_refused(url: str, reason: str) -> None:
    with pytest.raises(TargetRefused, match=reason):
        check_url(url, NOBODY)


def test_public_addresses_pass() -> None:
    check_url("https://8.8.8.8/hook", NOBODY)
    check_url("http://[2001:4860:4860::8888]:8443/hook", NOBODY)
    assert is_public(ipaddress.ip_address("1.1.1.1"))


def test_the_allow_list_names_hosts_and_networks() -> None:
    allowed = AllowList.parse(
        Settings(webhook_allowed_hosts="127.0.0.1, 10.1.0.0/16, LocalHost").webhook_allowed_list
    )
    check_url("http://127.0.0.1:9000/hook", allowed)
    check_url("http://10.1.200.3/hook", allowed)
    check_url("http://localhost:1/hook", allowed)  # named: whatever it resolves to
    with pytest.raises(TargetRefused):
        check_url("http://10.2.0.1/hook", allowed)
    with pytest.raises(TargetRefused):
        check_url("http://127.0.0.2/hook", allowed)


def test_the_allow_list_setting_is_checked() -> None:
    with pytest.raises(ValueError, match="webhook_allowed_hosts"):
        Settings(webhook_allowed_hosts="10.0.0.0/99")
    assert Settings(webhook_allowed_hosts=" a.example , ::1 ").webhook_allowed_list == [
        "a.example",
        "::1",
    ]


def test_backoff_doubles_up_to_an_hour_with_jitter() -> None:
    assert [ceiling(n) for n in range(1, 6)] == [5, 10, 20, 40, 80]
    assert ceiling(11) == MAX_DELAY and ceiling(500) == MAX_DELAY
    rng = random.Random(7)
    for tries in range(1, 40):
        delays = [next_delay(tries, rng) for _ in range(50)]
        assert all(ceiling(tries) / 2 <= d <= ceiling(tries) for d in delays)
        assert len(set(delays)) > 1  # jittered
    assert next_delay(1, rng) >= FIRST_DELAY / 2


def test_the_retry_window_is_a_day() -> None:
    assert RETRY_WINDOW >= 24 * 3600
    assert not window_over(1000.0, 1000.0 + RETRY_WINDOW - 1)
    assert window_over(1000.0, 1000.0 + RETRY_WINDOW)
