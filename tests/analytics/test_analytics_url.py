"""SEGMENTD_ANALYTICS_URL: unset (no analytics back-end), chdb:// (the embedded engine on a
folder) or clickhouse:// (a server); anything else refused when the settings are read, with
the reason."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from segmentd.database_urls import AnalyticsTarget
from segmentd.settings import Settings


def test_unset_means_no_analytics_back_end() -> None:
    assert Settings().analytics is None


@pytest.mark.parametrize(
    ("url", "target"),
    [
        (
            "chdb:///var/lib/segmentd/ch",
            AnalyticsTarget("chdb", "segmentd", path="/var/lib/segmentd/ch"),
        ),
        ("chdb://./ch", AnalyticsTarget("chdb", "segmentd", path="./ch")),
        ("clickhouse://ch1/seg", AnalyticsTarget("clickhouse", "seg", host="ch1", port=9000)),
        (
            "clickhouse://app:p%40ss@10.0.0.5:9440/segmentd_prod",
            AnalyticsTarget(
                "clickhouse",
                "segmentd_prod",
                host="10.0.0.5",
                port=9440,
                user="app",
                password="p@ss",
            ),
        ),
    ],
)
def test_accepted_forms(url: str, target: AnalyticsTarget) -> None:
    assert Settings(analytics_url=url).analytics == target


@pytest.mark.parametrize(
    ("url", "reason"),
    [
        ("chdb://", "names a folder"),
        ("duckdb:///x", "must start with chdb:// or clickhouse://"),
        ("clickhouse:///seg", "names a host"),
        ("clickhouse://ch1", "ends with a database name"),
        ("clickhouse://ch1/1seg", "ends with a database name"),
        ("clickhouse://ch1/seg;DROP", "ends with a database name"),
        ("clickhouse://ch1:0/seg", "port must be a number"),
        ("clickhouse://ch1:99999/seg", "port must be a number"),
        ("clickhouse://ch1:port/seg", "port must be a number"),
        ("clickhouse://ch1/seg?secure=1", "no query"),
    ],
)
def test_refused_forms(url: str, reason: str) -> None:
    with pytest.raises(ValidationError, match=reason):
        Settings(analytics_url=url)


def test_the_password_is_not_shown() -> None:
    target = Settings(analytics_url="clickhouse://app:hunter2@ch1/seg").analytics
    assert target is not None and "hunter2" not in repr(target)
