"""Campaigns and what members did with them (sent, open, click).

``campaign_activity`` keeps one row per campaign and member with the first time of each
event, and always click => open => sent: a click also counts as an open and a send, an open
as a send. Taking the earliest time of each makes recording order-independent.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from ..domain.conditions import Inputs
from ..domain.emails import email_key
from ..domain.errors import DomainValidationError, InUse
from ..domain.fields import CampaignStatus
from ..domain.ids import MAX_ID
from ..domain.member_changes import Change, MembersChanged
from ..timefmt import now
from . import analytics_outbox
from .catalog import catalog_changed
from .schema import campaign_activity, campaigns, import_jobs, members
from .segment_refs import segments_using_campaign
from .tenants import default_list_id
from .write_lock import lock_tenant_writes

MAX_NAME = 255
MAX_EVENTS = 10_000
EVENT_COLUMNS = {"sent": "sent_at", "open": "opened_at", "click": "clicked_at"}
# An event also stands for the ones it implies: a click was opened and sent.
IMPLIED = {"sent": ("sent",), "open": ("sent", "open"), "click": ("sent", "open", "click")}
TIME_FORMAT = "%Y-%m-%d %H:%M:%S"
MAX_TIME = 32_503_680_000  # 3000-01-01: keeps times far inside BIGINT
NEXT_STATUSES: dict[CampaignStatus, frozenset[CampaignStatus]] = {
    CampaignStatus.DRAFT: frozenset(CampaignStatus),
    CampaignStatus.SENDING: frozenset(
        {CampaignStatus.SENDING, CampaignStatus.COMPLETED, CampaignStatus.CANCELLED}
    ),
    CampaignStatus.COMPLETED: frozenset({CampaignStatus.COMPLETED}),
    CampaignStatus.CANCELLED: frozenset({CampaignStatus.CANCELLED}),
}
_CHUNK = 500


@dataclass(frozen=True)
class Campaign:
    id: int
    list_id: int | None  # None: the tenant's default list
    name: str
    status: CampaignStatus
    created_at: int
    updated_at: int
    sent: int = 0
    opened: int = 0
    clicked: int = 0


@dataclass(frozen=True)
class EventError:
    index: int
    message: str


@dataclass
class EventsResult:
    recorded: int = 0
    member_ids: list[int] = field(default_factory=list)
    errors: list[EventError] = field(default_factory=list)


def check_name(name: Any) -> str:
    if not isinstance(name, str) or not name.strip() or len(name) > MAX_NAME or "\0" in name:
        raise DomainValidationError(
            "campaign_name", f"campaign_name is a non-blank string of at most {MAX_NAME} characters"
        )
    return name


def check_status(status: Any) -> CampaignStatus:
    if status not in tuple(CampaignStatus):
        raise DomainValidationError("status", f"status must be one of {', '.join(CampaignStatus)}")
    return CampaignStatus(status)


def _counts() -> list[Any]:
    a = campaign_activity.c

    def count(column: Any) -> Any:
        return (
            sa.select(sa.func.count())
            .where(a.tenant_id == campaigns.c.tenant_id, a.campaign_id == campaigns.c.id)
            .where(column.is_not(None))
            .scalar_subquery()
        )

    return [count(a.sent_at), count(a.opened_at), count(a.clicked_at)]


def _campaign(row: Any) -> Campaign:
    m = row._mapping
    return Campaign(
        m["id"],
        m["list_id"],
        m["name"],
        CampaignStatus(m["status"]),
        m["created_at"],
        m["updated_at"],
        *(int(v) for v in tuple(row)[-3:]),
    )


def _select(tenant_id: int) -> sa.Select[Any]:
    return sa.select(
        campaigns.c.id,
        campaigns.c.list_id,
        campaigns.c.name,
        campaigns.c.status,
        campaigns.c.created_at,
        campaigns.c.updated_at,
        *_counts(),
    ).where(campaigns.c.tenant_id == tenant_id)


def create_campaign(
    conn: Connection, tenant_id: int, name: str, status: CampaignStatus, list_id: int
) -> Campaign:
    stamp = now()
    campaign_id = conn.execute(
        sa.insert(campaigns)
        .values(
            tenant_id=tenant_id,
            list_id=list_id,
            name=check_name(name),
            status=str(status),
            created_at=stamp,
            updated_at=stamp,
        )
        .returning(campaigns.c.id)
    ).scalar_one()
    catalog_changed(conn, tenant_id)
    found = get_campaign(conn, tenant_id, int(campaign_id))
    assert found is not None
    return found


def get_campaign(conn: Connection, tenant_id: int, campaign_id: int) -> Campaign | None:
    row = conn.execute(_select(tenant_id).where(campaigns.c.id == campaign_id)).first()
    return _campaign(row) if row else None


def list_campaigns(
    conn: Connection, tenant_id: int, offset: int, limit: int, status: CampaignStatus | None = None
) -> tuple[list[Campaign], int]:
    """One page of campaigns, newest first, and how many there are."""
    filters = [campaigns.c.tenant_id == tenant_id]
    if status is not None:
        filters.append(campaigns.c.status == str(status))
    total = conn.execute(sa.select(sa.func.count()).select_from(campaigns).where(*filters))
    rows = conn.execute(
        _select(tenant_id)
        .where(*filters)
        .order_by(campaigns.c.id.desc())
        .offset(offset)
        .limit(limit)
    )
    return [_campaign(row) for row in rows], int(total.scalar_one())


def update_campaign(
    conn: Connection,
    tenant_id: int,
    campaign_id: int,
    name: str | None = None,
    status: CampaignStatus | None = None,
) -> Campaign | None:
    """Rename a campaign or move its status forward (draft -> sending -> completed/cancelled)."""
    campaign = get_campaign(conn, tenant_id, campaign_id)
    if campaign is None:
        return None
    values: dict[str, Any] = {}
    if name is not None:
        values["name"] = check_name(name)
    if status is not None:
        if status not in NEXT_STATUSES[campaign.status]:
            raise DomainValidationError(
                "status", f"a {campaign.status} campaign cannot become {status}"
            )
        values["status"] = str(status)
    if values:
        values["updated_at"] = now()
        conn.execute(
            sa.update(campaigns)
            .where(campaigns.c.tenant_id == tenant_id, campaigns.c.id == campaign_id)
            .values(values)
        )
        catalog_changed(conn, tenant_id)
    return get_campaign(conn, tenant_id, campaign_id)


def delete_campaign(conn: Connection, tenant_id: int, campaign_id: int) -> Campaign | None:
    """Delete a campaign no segment tests, with what its members did (sent, open, click);
    the campaign deleted, None when there is no such campaign. Refused while a segment tests
    it, or while an import of its events is under way (it would write activity for no
    campaign)."""
    lock_tenant_writes(conn, tenant_id)
    campaign = get_campaign(conn, tenant_id, campaign_id)
    if campaign is None:
        return None
    users = segments_using_campaign(conn, tenant_id, campaign_id)
    if users:
        raise InUse(
            "campaign_id", f"campaign {campaign.name} is used by segments: {', '.join(users)}"
        )
    if _importing(conn, tenant_id, campaign_id):
        raise DomainValidationError(
            "campaign_id",
            f"campaign {campaign.name} has an import of events under way: delete it once done",
        )
    a = campaign_activity.c
    mine = sa.and_(a.tenant_id == tenant_id, a.campaign_id == campaign_id)
    analytics_outbox.record_activity_of(
        conn, tenant_id, campaign_id, sa.select(a.member_id).where(mine)
    )
    conn.execute(sa.delete(campaign_activity).where(mine))
    conn.execute(
        sa.delete(campaigns).where(
            campaigns.c.tenant_id == tenant_id, campaigns.c.id == campaign_id
        )
    )
    catalog_changed(conn, tenant_id)
    return campaign


def _importing(conn: Connection, tenant_id: int, campaign_id: int) -> bool:
    """Whether an import of the campaign's events is queued or running (the states of
    ``imports.import_jobs.UNFINISHED``: the imports sit above storage)."""
    j = import_jobs.c
    found = conn.execute(
        sa.select(j.id)
        .where(j.tenant_id == tenant_id, j.campaign_id == campaign_id)
        .where(j.state.in_(("queued", "running")))
        .limit(1)
    )
    return found.first() is not None


@dataclass(frozen=True)
class Event:
    index: int
    kind: str
    time: int
    email_key: str | None
    member_id: int | None


def parse_time(value: Any, tz: timezone) -> int:
    """Epoch seconds, or ``YYYY-MM-DD HH:MM:SS`` in the service's zone."""
    if isinstance(value, int) and not isinstance(value, bool):
        if not 0 <= value <= MAX_TIME:
            raise ValueError("time must be epoch seconds between 0 and the year 3000")
        return value
    if isinstance(value, str):
        try:
            return int(datetime.strptime(value, TIME_FORMAT).replace(tzinfo=tz).timestamp())
        except ValueError:
            pass
    raise ValueError("time must be epoch seconds or YYYY-MM-DD HH:MM:SS")


def parse_event(index: int, raw: Any, tz: timezone, default_time: int) -> Event:
    if not isinstance(raw, dict):
        raise ValueError("each event must be an object")
    kind = raw.get("event")
    if kind not in EVENT_COLUMNS:
        raise ValueError(f"event must be one of {', '.join(EVENT_COLUMNS)}")
    email, member_id = raw.get("email"), raw.get("member_id")
    if (email is None) == (member_id is None):
        raise ValueError("give either email or member_id")
    if email is not None and not isinstance(email, str):
        raise ValueError("email must be a string")
    if isinstance(member_id, str) and member_id.isascii() and member_id.isdigit():
        member_id = int(member_id)
    if member_id is not None and (
        isinstance(member_id, bool) or not isinstance(member_id, int) or not 0 < member_id <= MAX_ID
    ):
        raise ValueError("member_id must be a member id")
    stamp = default_time if raw.get("time") is None else parse_time(raw["time"], tz)
    return Event(index, kind, stamp, email_key(email) if email else None, member_id)


def record_events(
    conn: Connection, tenant_id: int, campaign_id: int, raw_events: Sequence[Any], tz: timezone
) -> tuple[EventsResult, MembersChanged] | None:
    """Record sent/open/click events; events of unknown members are reported by index.
    Returns the result and the change for the memberships; None without such a campaign."""
    locked = lock_tenant_writes(conn, tenant_id)
    campaign = get_campaign(conn, tenant_id, campaign_id)
    if campaign is None:
        return None
    if campaign.status is CampaignStatus.DRAFT:
        raise DomainValidationError(
            "status", "the campaign is a draft: set it sending or completed before its events"
        )
    result = EventsResult()
    events = _parse_all(raw_events, tz, result)
    list_id = campaign.list_id or locked.default_list_id or default_list_id(conn, tenant_id)
    resolved = _resolve(conn, tenant_id, list_id, events, result)
    firsts = _first_times(resolved)
    _merge(conn, tenant_id, campaign_id, firsts)
    analytics_outbox.record_activity(conn, tenant_id, campaign_id, firsts)
    result.recorded = len(resolved)
    result.member_ids = sorted(firsts)
    result.errors.sort(key=lambda error: error.index)
    # Events change campaign activity only: field and tag segments cannot move.
    changes = dict.fromkeys(result.member_ids, Change(Inputs(campaigns=True)))
    return result, MembersChanged(result.member_ids, changes=changes)


def _parse_all(raw_events: Sequence[Any], tz: timezone, result: EventsResult) -> list[Event]:
    stamp, events = now(), []
    for index, raw in enumerate(raw_events):
        try:
            events.append(parse_event(index, raw, tz, stamp))
        except ValueError as exc:
            result.errors.append(EventError(index, str(exc)))
    return events


def _resolve(
    conn: Connection, tenant_id: int, list_id: int, events: list[Event], result: EventsResult
) -> list[tuple[int, Event]]:
    """Pair events with the ids of members of the campaign's list."""
    keys = sorted({e.email_key for e in events if e.email_key})
    ids = sorted({e.member_id for e in events if e.member_id is not None})
    by_key: dict[str, int] = {}
    on_list: set[int] = set()
    mine = sa.and_(members.c.tenant_id == tenant_id, members.c.list_id == list_id)
    for start in range(0, max(len(keys), len(ids)), _CHUNK):
        rows = conn.execute(
            sa.select(members.c.id, members.c.email_key).where(
                mine, members.c.email_key.in_(keys[start : start + _CHUNK])
            )
        )
        by_key.update({row.email_key: row.id for row in rows})
        found = conn.execute(
            sa.select(members.c.id).where(mine, members.c.id.in_(ids[start : start + _CHUNK]))
        )
        on_list.update(found.scalars())
    resolved = []
    for event in events:
        member_id = by_key.get(event.email_key) if event.email_key else event.member_id
        if member_id is None or (event.email_key is None and member_id not in on_list):
            result.errors.append(EventError(event.index, "no such member on the campaign's list"))
        else:
            resolved.append((member_id, event))
    return resolved


def _first_times(resolved: list[tuple[int, Event]]) -> dict[int, dict[str, int]]:
    """The earliest time of each event per member, counting what each event implies."""
    firsts: dict[int, dict[str, int]] = {}
    for member_id, event in resolved:
        times = firsts.setdefault(member_id, {})
        for kind in IMPLIED[event.kind]:
            column = EVENT_COLUMNS[kind]
            times[column] = min(times.get(column, event.time), event.time)
    return firsts


def _earliest(*times: int | None) -> int | None:
    present = [t for t in times if t is not None]
    return min(present) if present else None


def _merge(
    conn: Connection, tenant_id: int, campaign_id: int, firsts: dict[int, dict[str, int]]
) -> None:
    a = campaign_activity.c
    ids = sorted(firsts)
    old: dict[int, Any] = {}
    for start in range(0, len(ids), _CHUNK):
        rows = conn.execute(
            sa.select(campaign_activity).where(
                a.tenant_id == tenant_id,
                a.campaign_id == campaign_id,
                a.member_id.in_(ids[start : start + _CHUNK]),
            )
        )
        old.update({row.member_id: row for row in rows})
    columns = tuple(EVENT_COLUMNS.values())
    merged = [
        {
            "m": member_id,
            **{c: _earliest(times.get(c), getattr(old.get(member_id), c, None)) for c in columns},
        }
        for member_id, times in firsts.items()
    ]
    inserts = [row for row in merged if row["m"] not in old]
    updates = [row for row in merged if row["m"] in old]
    if inserts:
        conn.execute(
            sa.insert(campaign_activity),
            [
                {"tenant_id": tenant_id, "campaign_id": campaign_id, "member_id": row["m"]}
                | {c: row[c] for c in columns}
                for row in inserts
            ],
        )
    if updates:
        # Bind names must differ from the columns they set.
        conn.execute(
            sa.update(campaign_activity)
            .where(
                a.tenant_id == tenant_id,
                a.campaign_id == campaign_id,
                a.member_id == sa.bindparam("m"),
            )
            .values({c: sa.bindparam(f"new_{c}") for c in columns}),
            [{"m": row["m"]} | {f"new_{c}": row[c] for c in columns} for row in updates],
        )
