"""Public identifiers."""

from __future__ import annotations

import secrets
import time


def new_segment_id() -> str:
    """24 hex characters like EngageLab's: 4 bytes of time, then 8 random bytes."""
    return f"{int(time.time()):08x}{secrets.token_hex(8)}"


def new_secret(length: int = 32) -> str:
    """``length`` characters of [A-Za-z0-9] (tokens and API keys)."""
    alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"
    return "".join(secrets.choice(alphabet) for _ in range(length))
