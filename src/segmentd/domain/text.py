"""The one rule for text that enters segmentd: what a string may hold to be stored and read back.

PostgreSQL refuses NUL in text, and a lone surrogate (``"\\ud800"``, which JSON can spell) is
not Unicode: no database driver or JSON encoder can write it. Every API family, the UI and
CSV imports check their strings here, before anything is stored.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

from .errors import DomainValidationError

_FORBIDDEN = re.compile("[\x00\ud800-\udfff]")


def text_problem(value: str) -> str | None:
    """Why ``value`` cannot be stored, or None when it can."""
    found = _FORBIDDEN.search(value)
    if found is None:
        return None
    if found.group() == "\x00":
        return "must not contain the NUL character (\\u0000)"
    return "must not contain a lone surrogate (\\ud800 to \\udfff): it is not valid Unicode"


def check_text(value: str, path: str) -> str:
    """``value`` unchanged, or a :class:`DomainValidationError` at ``path``."""
    problem = text_problem(value)
    if problem is not None:
        raise DomainValidationError(path, problem)
    return value


def printable(value: str, limit: int = 64) -> str:
    """``value`` safe to echo in an error message: forbidden characters spelled as escapes,
    cut to ``limit`` characters (an error must not repeat a huge input)."""
    safe = _FORBIDDEN.sub(lambda found: f"\\u{ord(found.group()):04x}", value)
    return safe if len(safe) <= limit else safe[: limit - 1] + "…"


def first_text_problem(value: Any, path: str = "") -> tuple[str, str] | None:
    """The first string (key or value) in a parsed JSON document that cannot be stored:
    ``(path, reason)``, with paths such as ``members[3].fields.City``; None when all can."""
    for where, text in _strings(value, path):
        problem = text_problem(text)
        if problem is not None:
            return where, problem
    return None


def _strings(value: Any, path: str) -> Iterator[tuple[str, str]]:
    # Iterative: a deeply nested body must not exhaust the interpreter's stack.
    pending: list[tuple[str, Any]] = [(path, value)]
    while pending:
        where, item = pending.pop()
        if isinstance(item, str):
            yield where, item
        elif isinstance(item, dict):
            for key, child in reversed(list(item.items())):
                name = printable(str(key))
                child_path = f"{where}.{name}" if where else name
                if isinstance(key, str):
                    yield child_path, key
                pending.append((child_path, child))
        elif isinstance(item, list):
            pending.extend(
                (f"{where}[{index}]", child) for index, child in reversed(list(enumerate(item)))
            )
