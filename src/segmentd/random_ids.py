"""Public identifiers."""

from __future__ import annotations

import re
import secrets
import time

# Commanders Act's segment ids: 8 hex characters, shown in upper case (``F92C4F26``).
COMMANDERSACT_ID = re.compile(r"[0-9A-Fa-f]{8}", re.ASCII)
COMMANDERSACT_ID_PATTERN = "^[0-9A-Fa-f]{8}$"


def new_segment_id() -> str:
    """24 hex characters like EngageLab's: 4 bytes of time, then 8 random bytes."""
    return f"{int(time.time()):08x}{secrets.token_hex(8)}"


def new_commandersact_id() -> str:
    """8 random upper-case hex characters, as Commanders Act's segment ids."""
    return secrets.token_hex(4).upper()


def commandersact_id_of(text: str) -> str | None:
    """``text`` as a stored Commanders Act id (upper case); None when it is not 8 hex."""
    return text.upper() if COMMANDERSACT_ID.fullmatch(text) else None


def new_secret(length: int = 32) -> str:
    """``length`` characters of [A-Za-z0-9] (tokens and API keys)."""
    alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"
    return "".join(secrets.choice(alphabet) for _ in range(length))
