"""The states a segment and its build job can be in."""

from __future__ import annotations

from enum import IntEnum, StrEnum


class JobState(StrEnum):
    QUEUED = "queued"
    RUNNING = "running"
    DONE = "done"
    FAILED = "failed"
    SUPERSEDED = "superseded"


class SegmentStatus(IntEnum):
    """EngageLab's segment status numbers."""

    FAILED = -1
    BUILDING = 1
    COMPLETE = 2
