"""The one formatter for times shown by the APIs (zone configurable, default UTC+8)."""

from __future__ import annotations

import time
from datetime import datetime, timezone

SEGMENT_STYLE = "%Y-%m-%d %H:%M:%S%z"  # 2023-11-29 16:28:41+0800 (segments page)
MEMBER_STYLE = "%Y-%m-%dT%H:%M:%S%z"  # 2022-06-06T10:28:32+0800 (members example)


def now() -> int:
    return int(time.time())


def format_time(epoch: int | None, tz: timezone, style: str = SEGMENT_STYLE) -> str | None:
    if epoch is None:
        return None
    return datetime.fromtimestamp(epoch, tz).strftime(style)
