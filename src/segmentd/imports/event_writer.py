"""Write one chunk of campaign events, set-based, keeping click => open => sent.

Each member's events in the chunk fold into one row of first times (a click also stands for
an open and a send), merged into ``campaign_activity`` by an upsert that keeps the earlier of
the stored and the new time per column. Taking the earliest makes a re-run a no-op.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from ..storage import analytics_outbox
from ..storage.campaigns import EVENT_COLUMNS, IMPLIED
from ..storage.schema import members
from .event_rows import EventRow
from .sqlsets import copy_rows, is_sqlite, one_of

UNKNOWN_MEMBER = "no such member on the campaign's list"
_TIMES = tuple(EVENT_COLUMNS.values())  # sent_at, opened_at, clicked_at
_EARLIER = ", ".join(
    f"{c} = CASE WHEN campaign_activity.{c} IS NULL OR excluded.{c} < campaign_activity.{c} "
    f"THEN excluded.{c} ELSE campaign_activity.{c} END"
    for c in _TIMES
)
_UPSERT_TAIL = f"ON CONFLICT (tenant_id, campaign_id, member_id) DO UPDATE SET {_EARLIER}"


def resolve_members(
    conn: Connection, tenant_id: int, list_id: int, events: Sequence[EventRow]
) -> list[int | None]:
    """The member id of each event on the campaign's list, None when there is none."""
    mine = [members.c.tenant_id == tenant_id, members.c.list_id == list_id]
    keys = sorted({e.email_key for e in events if e.email_key is not None})
    ids = sorted({e.member_id for e in events if e.member_id is not None})
    by_key: dict[str, int] = {}
    on_list: set[int] = set()
    if keys:
        rows = conn.execute(
            sa.select(members.c.email_key, members.c.id).where(
                *mine, one_of(conn, members.c.email_key, keys)
            )
        )
        by_key = {key: int(member_id) for key, member_id in rows}
    if ids:
        found = conn.execute(sa.select(members.c.id).where(*mine, one_of(conn, members.c.id, ids)))
        on_list = {int(member_id) for member_id in found.scalars()}
    return [
        by_key.get(e.email_key) if e.email_key is not None else _on(e.member_id, on_list)
        for e in events
    ]


def _on(member_id: int | None, on_list: set[int]) -> int | None:
    return member_id if member_id in on_list else None


def first_times(pairs: Sequence[tuple[int, EventRow]]) -> dict[int, list[int | None]]:
    """Per member, the earliest sent/open/click time, counting what each event implies."""
    firsts: dict[int, list[int | None]] = {}
    positions = {kind: i for i, kind in enumerate(EVENT_COLUMNS)}
    for member_id, event in pairs:
        times = firsts.setdefault(member_id, [None, None, None])
        for kind in IMPLIED[event.kind]:
            at = positions[kind]
            current = times[at]
            times[at] = event.time if current is None else min(current, event.time)
    return firsts


def write_events(
    conn: Connection, tenant_id: int, campaign_id: int, firsts: dict[int, list[int | None]]
) -> None:
    rows = [(tenant_id, campaign_id, member_id, *times) for member_id, times in firsts.items()]
    if not rows:
        return
    analytics_outbox.record_activity(conn, tenant_id, campaign_id, firsts)
    columns = ("tenant_id", "campaign_id", "member_id", *_TIMES)
    if is_sqlite(conn):
        conn.exec_driver_sql(
            f"INSERT INTO campaign_activity ({', '.join(columns)}) VALUES (?, ?, ?, ?, ?, ?) "
            f"{_UPSERT_TAIL}",
            rows,
        )
        return
    conn.exec_driver_sql(
        "CREATE TEMP TABLE import_events (tenant_id bigint, campaign_id bigint, "
        "member_id bigint, sent_at bigint, opened_at bigint, clicked_at bigint) ON COMMIT DROP"
    )
    copy_rows(conn, "import_events", columns, rows)
    names = ", ".join(columns)
    conn.exec_driver_sql(
        f"INSERT INTO campaign_activity ({names}) SELECT {names} FROM import_events {_UPSERT_TAIL}"
    )
