"""What the segments list and the segment page show of a segment's freshness: when its
membership was last exact, how long its last build took, its queue state, and a badge when
its build is stuck or its daily refresh overdue (``services.segment_freshness``)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from ...services.segment_freshness import freshness
from ...settings import Settings
from ...storage.db import Database

QUEUE_WORDS = {
    "idle": "idle",
    "queued": "queued",
    "running": "running",
    "retrying": "retrying",
    "failed": "failed",
}


@dataclass(frozen=True)
class FreshnessView:
    exact_at: int | None
    build_took: str | None  # "1.2 s", "3 min 5 s"
    queue_word: str
    attempts: int
    stuck: bool
    overdue: bool


def duration_text(seconds: float | None) -> str | None:
    if seconds is None:
        return None
    if seconds < 60:
        return f"{seconds:.1f} s"
    minutes, rest = divmod(round(seconds), 60)
    if minutes < 60:
        return f"{minutes} min {rest} s"
    hours, minutes = divmod(minutes, 60)
    return f"{hours} h {minutes} min"


def freshness_views(
    db: Database, tenant_id: int, segment_ids: Sequence[str], settings: Settings
) -> dict[str, FreshnessView]:
    return {
        segment_id: FreshnessView(
            exact_at=found.exact_at,
            build_took=duration_text(found.build.last_build_seconds),
            queue_word=QUEUE_WORDS[found.build.state],
            attempts=found.build.attempts,
            stuck=found.build.stuck,
            overdue=found.refresh_overdue,
        )
        for segment_id, found in freshness(db, tenant_id, segment_ids, settings).items()
    }
