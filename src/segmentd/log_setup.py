"""Logs: one JSON object a line (python-json-logger), each carrying the request id of the
request it belongs to, with secrets masked in whatever is written.

``configure`` is called by the processes segmentd starts (``segmentd serve``, its worker
processes, ``segmentd worker``); the app itself configures nothing, so an embedding program
(or a test) keeps its own logging. The request id is set by ``api.request_log`` for the
request's whole life, threadpool included (a context variable).

Masking is the last line of defence, applied to the formatted line (message, fields and
traceback alike): nothing logs headers or query strings to begin with.
"""

from __future__ import annotations

import logging
import re
import sys
from collections.abc import Iterable
from contextvars import ContextVar

from pythonjsonlogger.json import JsonFormatter

from .settings import Settings

request_id: ContextVar[str | None] = ContextVar("segmentd_request_id", default=None)

MASK = "[redacted]"
# key=value and "key": "value" pairs whose value is a credential, and Authorization schemes.
_SECRET_PAIRS = re.compile(
    r"(?i)((?:api_?key|token|password|passwd|secret(?:_key)?|authorization|cookie)"
    r"[\"']?\s*[=:]\s*[\"']?)(?:(?:basic|bearer)\s+)?[^\s&;,\"'#]+"
)
_SCHEMES = re.compile(r"(?i)\b(basic|bearer)\s+[A-Za-z0-9._~+/=-]{6,}")
_TEXT_FORMAT = "%(asctime)s %(levelname)s %(name)s [%(request_id)s] %(message)s"


def redact(text: str, secrets: Iterable[str] = ()) -> str:
    """``text`` with credentials masked: known ``secrets`` wherever they appear, values of
    credential-like keys, and Basic or Bearer credentials."""
    for secret in secrets:
        text = text.replace(secret, MASK)
    text = _SCHEMES.sub(lambda m: f"{m[1]} {MASK}", text)
    return _SECRET_PAIRS.sub(lambda m: m[1] + MASK, text)


class RequestIdFilter(logging.Filter):
    """Adds ``request_id`` (None outside a request) to every record."""

    def filter(self, record: logging.LogRecord) -> bool:
        record.request_id = request_id.get()
        return True


class RedactingJsonFormatter(JsonFormatter):
    """One JSON object a line: time, level, logger, message, request id and the record's
    extra fields (``extra={...}``), with credentials masked."""

    def __init__(self, secrets: Iterable[str] = ()) -> None:
        super().__init__(
            "{asctime}{levelname}{name}{message}{request_id}",
            style="{",
            rename_fields={"levelname": "level", "name": "logger", "asctime": "time"},
        )
        self.secrets = tuple(s for s in secrets if s)

    def format(self, record: logging.LogRecord) -> str:
        return redact(super().format(record), self.secrets)


class RedactingTextFormatter(logging.Formatter):
    def __init__(self, secrets: Iterable[str] = ()) -> None:
        super().__init__(_TEXT_FORMAT)
        self.secrets = tuple(s for s in secrets if s)

    def format(self, record: logging.LogRecord) -> str:
        return redact(super().format(record), self.secrets)


def known_secrets(settings: Settings) -> list[str]:
    """The configured credentials, masked wherever they appear."""
    values = (settings.api_key, settings.secret_key, settings.metrics_token)
    return [value for value in values if value and len(value) >= 4]


def handler(settings: Settings, stream: object = None) -> logging.Handler:
    """A stream handler writing ``settings.log_format`` lines, request ids and masking on."""
    made = logging.StreamHandler(stream or sys.stderr)  # type: ignore[arg-type]
    secrets = known_secrets(settings)
    formatter: logging.Formatter = (
        RedactingJsonFormatter(secrets)
        if settings.log_format == "json"
        else RedactingTextFormatter(secrets)
    )
    made.setFormatter(formatter)
    made.addFilter(RequestIdFilter())
    return made


def configure(settings: Settings) -> None:
    """Route every log record (uvicorn's too) through one handler on the root logger."""
    root = logging.getLogger()
    for existing in list(root.handlers):
        root.removeHandler(existing)
    root.addHandler(handler(settings))
    root.setLevel(settings.log_level.upper())
    for name in ("uvicorn", "uvicorn.error"):
        logger = logging.getLogger(name)
        logger.handlers.clear()
        logger.propagate = True
    # The request log (``api.request_log``) replaces uvicorn's access log. uvicorn writes
    # access records whenever its logger has a handler, its ancestors' included (as in the
    # processes of ``serve --workers``): a logger that does not propagate has none.
    access = logging.getLogger("uvicorn.access")
    access.handlers.clear()
    access.propagate = False
