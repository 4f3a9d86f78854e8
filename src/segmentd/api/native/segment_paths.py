"""What every route of the native segments API shares: the segment id in its path, and its
documented errors (the ``/v1/`` envelope with ``path``)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import Path

from ..common.envelope import NativeErrorBody

# Segment ids are 24 lower-case hex characters (``random_ids.new_segment_id``); any other
# path is refused (400) before a query.
SEGMENT_ID_PATTERN = "^[0-9a-f]{24}$"
SegmentIdPath = Annotated[
    str,
    Path(
        pattern=SEGMENT_ID_PATTERN,
        description="The segment's id, as EngageLab's API shows it (24 hex characters)",
    ),
]


def _error(description: str) -> dict[str, Any]:
    return {"model": NativeErrorBody, "description": description}


def conflict(description: str) -> dict[str, Any]:
    return _error(f"Conflict: {description} (code 30035)")


NATIVE_ERRORS: dict[int | str, dict[str, Any]] = {
    400: _error("Invalid request (code 30035); path names the offending input"),
    401: _error("Authentication failed (code 30000)"),
    404: _error("No such segment or list (code 30036; an unknown list_id: 30035)"),
    405: _error("Method not allowed (code 30035)"),
    413: _error("Request body too large (code 30035)"),
    429: _error("Too many failed authentications (code 30000)"),
}
