"""Keep site tokens out of logs.

``segmentd serve`` runs without an access log, but uvicorn's access log (when someone turns it
on) prints query strings, and the look-up carries ``token=``: this filter masks its value.
"""

from __future__ import annotations

import logging
import re

_TOKEN_VALUE = re.compile(r"(?i)((?:^|[?&;])token=)[^&;#\s]*")
ACCESS_LOGGER = "uvicorn.access"


def redact_tokens(text: str) -> str:
    return _TOKEN_VALUE.sub(r"\1[redacted]", text)


class TokenRedactingFilter(logging.Filter):
    """Masks ``token=`` in a record's message and arguments (never drops the record)."""

    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.msg, str):
            record.msg = redact_tokens(record.msg)
        if isinstance(record.args, tuple):
            record.args = tuple(
                redact_tokens(arg) if isinstance(arg, str) else arg for arg in record.args
            )
        return True


def install_token_redaction(logger_name: str = ACCESS_LOGGER) -> None:
    """Add the filter to ``logger_name`` once (idempotent)."""
    logger = logging.getLogger(logger_name)
    if not any(isinstance(existing, TokenRedactingFilter) for existing in logger.filters):
        logger.addFilter(TokenRedactingFilter())
