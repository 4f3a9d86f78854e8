"""Campaign events in a CSV: the header mapping and the check of one row (pure).

Columns (any letter case): ``email`` or ``member_id`` (one per row), ``event`` (sent, open or
click) and an optional ``time`` (epoch seconds or ``YYYY-MM-DD HH:MM:SS`` in the service's
zone; default: when the chunk is written), as ``POST .../campaigns/{id}/events`` takes them.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import timezone

from ..domain.text import printable
from ..storage.campaigns import EVENT_COLUMNS, parse_event
from .csv_member_rows import RowProblem
from .mapping import MappingError, listed, shown

EVENT_TARGETS = ("email", "member_id", "event", "time")


@dataclass(frozen=True)
class EventLayout:
    positions: dict[str, int]  # target -> cell position
    width: int
    ignored: tuple[str, ...]


@dataclass(frozen=True)
class EventRow:
    kind: str  # sent, open, click
    time: int
    email_key: str | None
    member_id: int | None


def map_event_header(header: Sequence[str], ignore_unknown: bool = False) -> EventLayout:
    positions: dict[str, int] = {}
    unknown: list[str] = []
    problems: list[str] = []
    for position, column in enumerate(header):
        target = column.strip().casefold()
        if target in positions:
            problems.append(f"column {shown(column)} appears twice")
        elif target in EVENT_TARGETS:
            positions[target] = position
        else:
            unknown.append(column)
    if "event" not in positions:
        problems.append("the header must have an event column")
    if "email" not in positions and "member_id" not in positions:
        problems.append("the header must have an email or a member_id column")
    if unknown and not ignore_unknown:
        problems.append(
            f"unknown columns: {listed([printable(c, 64) for c in unknown])} "
            f"(events have {', '.join(EVENT_TARGETS)}; "
            "pass --ignore-unknown to skip them)"
        )
    if problems:
        raise MappingError(listed(problems, "; "))
    return EventLayout(positions, len(header), tuple(unknown))


def check_event(layout: EventLayout, cells: Sequence[str], tz: timezone, stamp: int) -> EventRow:
    if len(cells) > layout.width:
        raise RowProblem(f"the row has {len(cells)} cells but the header only {layout.width}")
    raw: dict[str, object] = {}
    for target, position in layout.positions.items():
        cell = cells[position].strip() if position < len(cells) else ""
        if cell:
            raw[target] = (
                int(cell) if target == "time" and cell.isascii() and cell.isdigit() else cell
            )
    if raw.get("event") not in EVENT_COLUMNS:
        raise RowProblem(f"event must be one of {', '.join(EVENT_COLUMNS)}")
    try:
        event = parse_event(0, raw, tz, stamp)
    except ValueError as exc:
        raise RowProblem(str(exc)) from None
    return EventRow(event.kind, event.time, event.email_key, event.member_id)
