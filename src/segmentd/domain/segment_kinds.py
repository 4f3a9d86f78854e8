"""The kinds of segment: dynamic (its members are those its condition selects, built and
kept current) or static (its members are given by hand, never computed)."""

from __future__ import annotations

from enum import StrEnum
from typing import Any

from .stored_form import VERSION


class SegmentKind(StrEnum):
    DYNAMIC = "dynamic"
    STATIC = "static"


def static_condition() -> dict[str, Any]:
    """The stored condition of a static segment: an empty group, which nothing builds or
    evaluates (its members are given) and which selects no one if it ever were."""
    return {"version": VERSION, "relation": "and", "items": []}
