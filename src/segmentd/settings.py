"""Settings, read once from the environment (``SEGMENTD_*``); see docs/configuration.md."""

from __future__ import annotations

import ipaddress
import re
from datetime import timedelta, timezone
from functools import cached_property
from typing import Literal

from pydantic import Field, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from .database_urls import AnalyticsTarget, parse_analytics_url

_OFFSET = re.compile(r"([+-])(\d{2}):?(\d{2})")


def _items(value: str) -> list[str]:
    return [item.strip() for item in value.split(",") if item.strip()]


def _is_network(item: str) -> bool:
    try:
        ipaddress.ip_network(item, strict=False)
    except ValueError:
        return False
    return True


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="SEGMENTD_", extra="ignore")

    database_url: str = Field(
        "sqlite:///./segmentd.db", description="SQLAlchemy URL of the database"
    )
    api_user: str | None = Field(None, description="api_user ensured at start (with api_key)")
    api_key: str | None = Field(None, description="api_key ensured at start (with api_user)")
    time_zone: str = Field(
        "+08:00",
        description="UTC offset of the times the APIs show, and of the day relative dates count "
        "from (its midnight starts the daily refresh)",
    )
    worker: bool = Field(
        True, description="run the build worker and the webhook deliveries inside serve"
    )
    build_chunk_size: int = Field(20_000, ge=100, description="members per committed build chunk")
    build_group_size: int = Field(
        8, ge=1, le=64, description="fresh builds of one list run together, sharing each pass"
    )
    build_parallelism: int = Field(
        2,
        ge=1,
        le=16,
        description="build chunks filled side by side, one core each (SQLite: evaluated on "
        "reader connections, stored by the one writer)",
    )
    build_complement_share: float = Field(
        0.75,
        ge=0,
        le=1,
        description="a build whose first chunk matches more than this share of its members "
        "stores who is left out instead (a third of the rows or fewer); 1 never does",
    )
    rebuild_in_place_limit: int = Field(
        250_000,
        ge=0,
        description="a rebuild of a published segment moving at most this many members is "
        "written in place, in one transaction; more build a new generation range by range "
        "(0: never)",
    )
    rebuild_in_place_members: int = Field(
        2_000_000,
        ge=0,
        description="a list of more members rebuilds its segments range by range on SQLite "
        "and PostgreSQL even when few move: a rebuild in place reads the whole list in one "
        "transaction, which holds SQLite's one writer (about a second per million members)",
    )
    lease_seconds: float = Field(30.0, gt=0, description="how long a claimed build job stays ours")
    worker_poll_seconds: float = Field(
        0.2,
        gt=0,
        description="worker sleep when there is no job (a build or import queued by this"
        " process wakes its worker at once; the poll finds other processes' jobs, retries"
        " and expired leases)",
    )
    history_retention_days: int = Field(
        90,
        ge=0,
        le=36_500,
        description="days the membership history keeps each change (0: forever); older "
        "changes are deleted by the worker in chunks",
    )
    tcid_cookie: str = Field("TCID", description="cookie holding the visitor id for look-ups")
    lookup_visitor_limit: int = Field(
        300,
        ge=0,
        description="distinct visitors (TCID cookies) one client may look up per minute "
        "before 429 (IPv6: per /64); a visitor already looked up always passes; 0: no limit",
    )
    max_body_bytes: int = Field(8 * 1024 * 1024, ge=1024, description="largest request body")
    max_header_bytes: int = Field(
        64 * 1024,
        ge=8 * 1024,
        le=16 * 1024 * 1024,
        description="largest request head (request line and headers); beyond it 431",
    )
    max_upload_bytes: int = Field(
        1024 * 1024 * 1024, ge=1024, description="largest CSV upload (paths ending in /imports)"
    )
    sqlite_busy_seconds: float = Field(
        30.0,
        ge=0,
        le=3600,
        description="SQLite: how long a request waits for a lock another process holds "
        "before it answers 503",
    )
    auth_failure_limit: int = Field(
        20,
        ge=1,
        description="wrong keys per client and existing api_user per minute before that "
        "pair's wrong keys answer 429 (a right key always passes)",
    )
    trusted_proxies: str = Field(
        "",
        description="comma-separated addresses or networks (CIDR) of reverse proxies whose "
        "X-Forwarded-For and X-Forwarded-Proto are believed; empty: none (the peer address "
        "is the client)",
    )
    import_dir: str | None = Field(
        None,
        description="where uploaded CSV files wait for import; default: beside a SQLite "
        "database (<file>.imports/), else ./segmentd-imports",
    )
    secret_key: str | None = Field(
        None,
        description="key sealing site tokens and webhook secrets at rest (set it in "
        "production); default: a file "
        "beside a SQLite database, else in the user's data directory "
        "($XDG_DATA_HOME/segmentd/), one per database",
    )

    stuck_lease_expiries: int = Field(
        2,
        ge=1,
        description="a build or refresh whose workers' leases ran out this many times without "
        "it ending is reported stuck (GET /v1/status, /metrics, the UI)",
    )
    refresh_overdue_seconds: float = Field(
        3600.0,
        ge=0,
        description="a time-dependent segment not yet refreshed for today this long after "
        "the day boundary of time_zone is reported overdue",
    )
    metrics_token: str | None = Field(
        None,
        description="when set, GET /metrics answers only requests carrying "
        "Authorization: Bearer <this token>; unset: /metrics is open (bind it to a private "
        "network)",
    )
    log_format: Literal["json", "text"] = Field(
        "json",
        description="json: one JSON object a line (request id, method, route, status, "
        "duration); text: plain lines for a terminal",
    )
    log_level: Literal["debug", "info", "warning", "error"] = Field(
        "info", description="the least severe log records written (debug adds every look-up)"
    )
    webhook_allowed_hosts: str = Field(
        "",
        description="comma-separated host names, addresses or networks (CIDR) that webhook "
        "URLs may reach although they are not public: otherwise a URL whose host resolves "
        "to a loopback, private, link-local, shared, reserved or multicast address is "
        "refused when subscribed and at every delivery (docs/webhooks.md); empty: only "
        "public addresses",
    )
    webhook_timeout_seconds: float = Field(
        10.0, gt=0, le=60, description="how long one webhook delivery waits for the receiver"
    )
    webhook_batch_size: int = Field(
        100, ge=1, le=1000, description="membership changes at most in one webhook delivery"
    )
    analytics_url: str | None = Field(
        None,
        description="the analytics back-end (ClickHouse, docs/analytics.md): "
        "chdb:///path/to/folder (the embedded engine on a local folder) or "
        "clickhouse://[user[:password]@]host[:port]/database (a server of the cluster "
        "'segmentd'); full builds and preview counts then run there. Unset: none, "
        "everything runs on the database of SEGMENTD_DATABASE_URL",
    )

    @field_validator("time_zone")
    @classmethod
    def _check_zone(cls, value: str) -> str:
        if not _OFFSET.fullmatch(value):
            raise ValueError("time_zone must be a UTC offset such as +08:00")
        return value

    @field_validator("analytics_url")
    @classmethod
    def _check_analytics_url(cls, value: str | None) -> str | None:
        if value is not None:
            parse_analytics_url(value)  # raises ValueError saying what is wrong
        return value

    @field_validator("trusted_proxies")
    @classmethod
    def _check_proxies(cls, value: str) -> str:
        for item in _items(value):
            try:
                ipaddress.ip_network(item, strict=False)
            except ValueError:
                message = f"trusted_proxies: {item!r} is not an IP address or network"
                raise ValueError(message) from None
        return value

    @field_validator("webhook_allowed_hosts")
    @classmethod
    def _check_webhook_hosts(cls, value: str) -> str:
        for item in _items(value):
            if any(c.isspace() or c in "/:" for c in item) and not _is_network(item):
                raise ValueError(f"webhook_allowed_hosts: {item!r} is not a host or network")
        return value

    @property
    def webhook_allowed_list(self) -> list[str]:
        return _items(self.webhook_allowed_hosts)

    @property
    def trusted_proxy_list(self) -> list[str]:
        return _items(self.trusted_proxies)

    @cached_property
    def analytics(self) -> AnalyticsTarget | None:
        """Where the analytics back-end runs (None: there is none)."""
        return None if self.analytics_url is None else parse_analytics_url(self.analytics_url)

    @cached_property
    def tz(self) -> timezone:
        match = _OFFSET.fullmatch(self.time_zone)
        assert match
        sign = -1 if match[1] == "-" else 1
        return timezone(sign * timedelta(hours=int(match[2]), minutes=int(match[3])))
